// CWire: wire-format codecs. Header-inline so Swift and C callers inline them at -O.
#ifndef CWIRE_H
#define CWIRE_H
#include "cw_endian.h"
#include "cw_base36.h"
#include "cw_itch.h"
#include "cw_frame.h"
#include "cw_mold_events.h"
#include "cw_scan.h"
#include "cw_iex.h"
#include "cw_soup.h"
#include "cw_ouch.h"
#include "cw_fix.h"
#endif
