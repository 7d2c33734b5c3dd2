// CEvent is header-inline (include/omni_event.h); SwiftPM wants a source file per C
// target, and this one says which ABI the linked kernels were built with.
#include "omni_event.h"

uint32_t omni_event_abi_version(void) { return OMNI_EVENT_ABI_VERSION; }
