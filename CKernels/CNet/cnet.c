// SwiftPM builds a C target from its sources: the pcap and packet kernels are header-inline,
// so this file only makes the module and checks that the headers compile on their own.
#include "CNet.h"
