// omni_event: the 64-byte event every ring, the journal and any FPGA / NIC model
// exchange. This header is the offload ABI: one cache line, little-endian, no
// pointers, fixed offsets (checked below). Unused bytes are zero. The type is
// 8-byte aligned (Swift imports no C type aligned beyond 16); every ring slot and
// journal record holding an event starts on a 64-byte boundary, so an event never
// straddles two cache lines. A change to a field's offset or meaning is a new
// ABI: bump OMNI_EVENT_ABI_VERSION.
//
//   off size field
//     0    2 type     omni_event_type: which payload the union holds
//     2    2 locate   instrument: the ITCH stock locate of the day; 0 = not instrument-specific
//     4    2 source   who produced the event (feed session, stage, gateway), numbered by the topology
//     6    2 flags    OMNI_EVF_* bits
//     8    8 seq      the source's sequence: MoldUDP64 message number for feed events, else a per-source counter
//    16    8 rx_tsc   TSC when the input that caused this event arrived (frame rx); hop stamps count from it
//    24   16 hop[4]   TSC ticks from rx_tsc to the end of hop i (decode, book, strategy, out ...)
//    40   24 payload  union, by type: level, bbo, order, fill, command, itch
//
// Hop stamps are 32-bit deltas rather than absolute stamps so that four of them
// fit: 2^32 ticks is over a second at TSC rates up to 4 GHz, far past any hop latency
// worth recording, and a larger delta saturates at UINT32_MAX. 0 = not stamped.
#ifndef OMNI_EVENT_H
#define OMNI_EVENT_H

#include <stddef.h>
#include <stdint.h>

#define OMNI_EVENT_ABI_VERSION 1
#define OMNI_EVENT_HOPS 4

typedef enum {
    OMNI_EV_NONE = 0,          // never sent: what a zeroed slot reads as
    OMNI_EV_BOOK_LEVEL = 1,    // a price level of `locate` changed: the `level` payload
    OMNI_EV_BBO = 2,           // best bid / offer of `locate` after a change: the `bbo` payload
    OMNI_EV_ORDER_NEW = 3,     // strategy -> gateway, enter an order: the `order` payload
    OMNI_EV_ORDER_CANCEL = 4,  // reduce order.client_order_id to order.qty shares (0 = cancel it)
    OMNI_EV_ORDER_REPLACE = 5, // new price and size for order.client_order_id
    OMNI_EV_FILL = 6,          // gateway -> strategy, risk, journal: an execution of one of our orders: the `fill` payload
    OMNI_EV_COMMAND = 7,       // control plane -> hot path: the `command` payload
    OMNI_EV_ITCH = 8,          // feed -> decode -> book: one ITCH message, by reference: the `itch` payload
} omni_event_type;

enum {
    OMNI_EVF_LAST_IN_PACKET = 1u << 0, // last event from its MoldUDP64 packet: the book is consistent after it
    OMNI_EVF_RECOVERED = 1u << 1,      // came from gap recovery (retransmission / snapshot), not the live feed
};

// Sides as OmniCore's Side and CBook: 0 = bid / buy, 1 = ask / sell.
enum { OMNI_SIDE_BUY = 0, OMNI_SIDE_SELL = 1 };

enum {
    OMNI_TIF_DAY = 0, // rests until the end of the day or a cancel
    OMNI_TIF_IOC = 1, // executes what it can on arrival; the rest is cancelled
};

enum {
    OMNI_CMD_STOP = 1,      // drain the input rings, then stop
    OMNI_CMD_KILL = 2,      // kill switch: cancel every open order, send nothing more; arg[0] = reason code
    OMNI_CMD_SET_PARAM = 3, // arg[0] = parameter id, arg[1] = new value (integer; prices in ITCH units)
};

typedef struct {
    uint32_t price;      // ITCH units: 4 implied decimals
    uint32_t orders;     // orders resting at the level; 0 with size 0: the level is gone
    uint64_t size;       // aggregate shares at the level
    uint8_t side;        // OMNI_SIDE_*
    uint8_t depth;       // 0 = best level, 1 = next, ...
    uint8_t reserved[6];
} omni_book_level;

typedef struct {
    uint32_t bid_px, ask_px; // ITCH units; 0 = that side is empty
    uint64_t bid_sz, ask_sz; // aggregate shares at the best levels (same layout as cbook_bbo)
} omni_bbo;

typedef struct {
    uint64_t client_order_id; // ours, kept across replaces: the gateway maps it to the venue's token chain
    uint32_t price;           // limit, ITCH units
    uint32_t qty;             // shares: new / replace: order size; cancel: shares left open (0 = all cancelled)
    uint8_t side;             // OMNI_SIDE_*
    uint8_t tif;              // OMNI_TIF_*
    uint8_t reserved[6];
} omni_order;

typedef struct {
    uint64_t client_order_id; // the order executed (its side is the order's)
    uint64_t match_number;    // the venue's execution id: unique per execution, so replays are deduplicated
    uint32_t price;           // execution price, ITCH units
    uint32_t qty;             // shares executed
} omni_fill;

typedef struct {
    uint32_t code;   // OMNI_CMD_*
    uint32_t target; // the stage it is for; 0 = every stage reading the ring
    uint64_t arg[2]; // meaning per code
} omni_command;

// A zero-copy view of one ITCH message inside the feed's input buffer (a mapped
// day file, a receive buffer), which outlives every event that refers to it.
// Offsets rather than pointers keep the ABI free of pointers.
typedef struct {
    uint64_t offset;     // byte offset of the message's first byte (its type) in the input buffer
    uint16_t length;     // message length in bytes, as framed
    uint8_t msg_type;    // the message's type byte once decoded; 0 before
    uint8_t reserved[13];
} omni_itch_ref;

typedef struct omni_event {
    uint16_t type;
    uint16_t locate;
    uint16_t source;
    uint16_t flags;
    uint64_t seq;
    uint64_t rx_tsc;
    uint32_t hop[OMNI_EVENT_HOPS];
    union {
        omni_book_level level;
        omni_bbo bbo;
        omni_order order;
        omni_fill fill;
        omni_command command;
        omni_itch_ref itch;
    };
} omni_event;

_Static_assert(sizeof(omni_event) == 64, "omni_event is one cache line");
_Static_assert(_Alignof(omni_event) == 8, "8-byte fields: rings and journals place events on 64-byte boundaries");
_Static_assert(offsetof(omni_event, seq) == 8 && offsetof(omni_event, rx_tsc) == 16, "header offsets");
_Static_assert(offsetof(omni_event, hop) == 24 && offsetof(omni_event, level) == 40, "hop and payload offsets");
_Static_assert(sizeof(omni_book_level) == 24 && sizeof(omni_bbo) == 24 && sizeof(omni_order) == 24
               && sizeof(omni_fill) == 24 && sizeof(omni_command) == 24 && sizeof(omni_itch_ref) == 24,
               "every payload fills the 24 bytes");

// The ABI version this object file was built with (cevent.c): a process can check
// a kernel library it loads against the header it was compiled with.
uint32_t omni_event_abi_version(void);

// Records the end of hop `hop` at TSC reading `now`: ticks since rx_tsc, saturated,
// and at least 1 so that a stamped hop never reads as unstamped.
static inline void omni_event_stamp(omni_event *e, unsigned hop, uint64_t now) {
    uint64_t d = now - e->rx_tsc; // a reading before rx_tsc wraps to a huge value and saturates
    e->hop[hop] = d >= UINT32_MAX ? UINT32_MAX : d == 0 ? 1u : (uint32_t)d;
}

#endif
