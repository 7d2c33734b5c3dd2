// Checks that the header-inline pcap and packet kernels compile on their own as C11.
#include "CNet.h"
