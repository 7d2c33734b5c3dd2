// Empty: the target only carries fuzz_driver.h.
#include "fuzz_driver.h"
