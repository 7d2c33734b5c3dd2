// omni_event: the 64-byte event every ring, the journal, the control plane and
// any FPGA / NIC model exchange. This header is the offload ABI: one cache line,
// little-endian, no pointers, fixed offsets (every one checked below). Unused
// bytes are zero. The type is 8-byte aligned (Swift imports no C type aligned
// beyond 16); every ring slot and journal record holding an event starts on a
// 64-byte boundary, so an event never straddles two cache lines. A change to a
// field's offset or meaning is a new ABI: bump OMNI_EVENT_ABI_VERSION.
//
// ABI version 3 (3: the control plane's commands KILL_RESET, QUOTING, SET_LIMITS, ACK and the
// trading loop's OMNI_PARAM_* ids for SET_PARAM).
//
//   off size field
//     0    1 type       omni_event_type: which payload the union holds
//     1    1 flags      OMNI_EVF_* bits
//     2    2 locate     instrument: the ITCH stock locate of the day; 0 = not instrument-specific
//     4    2 source     who produced the event (feed session, stage, gateway), numbered by the topology
//     6   10 hop[5]     end of hop i, as ticks since rx_tsc in the 16-bit hop code (below):
//     6    2   hop[0]     OMNI_HOP_DECODE    message decoded
//     8    2   hop[1]     OMNI_HOP_BOOK      book updated
//    10    2   hop[2]     OMNI_HOP_STRATEGY  strategy decided
//    12    2   hop[3]     OMNI_HOP_RISK      pre-trade risk passed
//    14    2   hop[4]     OMNI_HOP_TX        order encoded and handed to the transport
//    16    8 seq        the input's number within its source: the MoldUDP64 message number for feed
//                       events, the venue's match number (execution id) for fills, else a per-source counter
//    24    8 rx_tsc     TSC (absolute) when the input that caused this event arrived (frame rx)
//    32   32 payload    union, by type:
//
//   level (OMNI_EV_BOOK_LEVEL)        bbo (OMNI_EV_BBO)           itch (OMNI_EV_ITCH)
//    32  4 price                       32  4 bid_px                32  8 offset
//    36  4 orders                      36  4 ask_px                40  2 length
//    40  8 size                        40  8 bid_sz                42  1 msg_type
//    48  1 side                        48  8 ask_sz                43 21 reserved
//    49  1 depth                       56  8 reserved
//    50 14 reserved
//
//   order (OMNI_EV_ORDER_*: requests and the venue's answers)   fill (OMNI_EV_FILL)
//    32  8 client_order_id                                        32  8 client_order_id
//    40  4 price                                                  40  8 venue_ns
//    44  4 qty                                                    48  4 last_px
//    48  2 strategy                                               52  4 last_qty
//    50  1 side                                                   56  4 leaves_qty
//    51  1 order_flags (OMNI_ORDF_*)                              60  2 strategy
//    52  2 reason (OMNI_REASON_*)                                 62  1 side
//    54  2 reserved                                               63  1 liquidity (OMNI_LIQ_*)
//    56  8 venue_ns
//
//   command (OMNI_EV_COMMAND)
//    32  4 code (OMNI_CMD_*)
//    36  4 target
//    40 16 arg[2]
//    56  8 reserved
//
// Hop stamps. rx_tsc is the one absolute stamp; the five later hops are deltas
// from it, 16 bits each, so that all five fit the 10 bytes between the header
// words and seq (rx plus five hops: six stamps). A delta is stored as a 16-bit
// log-linear code (a 4-bit exponent, a 12-bit mantissa): exact below 4096 ticks,
// above that truncated to 12 significant bits (under 0.025 % low, finer than a
// 3-digit HdrHistogram), saturating at 0xFFFF, which reads OMNI_HOP_MAX_TICKS
// (134,201,344 ticks, about 45 ms at 3 GHz) and means "at least that". Code 0 =
// not stamped; a stamped hop reads at least 1 tick. The code is monotonic in
// the delta, so codes compare as the deltas do. Write with omni_event_stamp,
// read with omni_event_hop_ticks.
#ifndef OMNI_EVENT_H
#define OMNI_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

// C++ (the Verilator harnesses, a card's driver) includes this header too: C11's keywords
// in C++'s spelling, and C linkage for omni_event_abi_version.
#ifdef __cplusplus
#define _Static_assert static_assert
#define _Alignof alignof
extern "C" {
#endif

#define OMNI_EVENT_ABI_VERSION 3
#define OMNI_EVENT_HOPS 5
#define OMNI_HOP_MANTISSA_BITS 12
#define OMNI_HOP_SATURATED 0xFFFFu
#define OMNI_HOP_MAX_TICKS 134201344ull // 0x1FFF << 14: what OMNI_HOP_SATURATED decodes to

// Which hop each hop[] entry ends (rx itself is rx_tsc).
enum {
    OMNI_HOP_DECODE = 0,   // the input message is decoded (feed) / parsed (gateway answer)
    OMNI_HOP_BOOK = 1,     // the book is updated
    OMNI_HOP_STRATEGY = 2, // the strategy decided (an order request, or nothing)
    OMNI_HOP_RISK = 3,     // pre-trade risk passed the request
    OMNI_HOP_TX = 4,       // the request is encoded and handed to the transport
};

typedef enum {
    OMNI_EV_NONE = 0,            // never sent: what a zeroed slot reads as
    // Market data (feed -> book -> strategy).
    OMNI_EV_BOOK_LEVEL = 1,      // a price level of `locate` changed: the `level` payload
    OMNI_EV_BBO = 2,             // best bid / offer of `locate` after a change: the `bbo` payload
    // Order requests (strategy -> risk -> gateway): the `order` payload.
    OMNI_EV_ORDER_NEW = 3,       // enter order.client_order_id: side, price, qty, strategy, order_flags
    OMNI_EV_ORDER_CANCEL = 4,    // reduce order.client_order_id to order.qty shares (0 = cancel it)
    OMNI_EV_ORDER_REPLACE = 5,   // new price and size (order.price, order.qty) for order.client_order_id
    OMNI_EV_FILL = 6,            // gateway -> strategy, risk, journal: an execution of one of our orders: `fill`
    OMNI_EV_COMMAND = 7,         // control plane -> hot path: the `command` payload
    OMNI_EV_ITCH = 8,            // feed -> decode -> book: one ITCH message, by reference: the `itch` payload
    // The venue's answers (gateway -> strategy, risk, orders, journal): the `order` payload,
    // venue_ns set, client_order_id the order answered for.
    OMNI_EV_ORDER_ACCEPTED = 9,  // the order rests / is live: price and qty as the venue accepted them
    OMNI_EV_ORDER_REJECTED = 10, // the new order was refused: order.reason says why
    OMNI_EV_ORDER_CANCELED = 11, // qty = shares still open after the cancel (0: gone); reason says why
    OMNI_EV_ORDER_REPLACED = 12, // the replace took effect: price and qty are the order's new ones
    OMNI_EV_CANCEL_REJECTED = 13, // a cancel or replace was refused (too late, unknown order): reason
} omni_event_type;

enum {
    OMNI_EVF_LAST_IN_PACKET = 1u << 0, // last event from its MoldUDP64 packet: the book is consistent after it
    OMNI_EVF_RECOVERED = 1u << 1,      // came from gap recovery (retransmission / snapshot), not the live feed
};

// Sides as OmniCore's Side and CBook: 0 = bid / buy, 1 = ask / sell.
enum { OMNI_SIDE_BUY = 0, OMNI_SIDE_SELL = 1 };

// order.order_flags. None set: a day limit order that may take liquidity.
enum {
    OMNI_ORDF_IOC = 1u << 0,       // immediate or cancel: executes what it can on arrival; the rest is cancelled
    OMNI_ORDF_POST_ONLY = 1u << 1, // adds liquidity only: the venue rejects (or reprices) it rather than let it take
};

// fill.liquidity: which side of the match our order was on.
enum {
    OMNI_LIQ_UNKNOWN = 0, // the venue did not say
    OMNI_LIQ_ADDED = 1,   // our order rested and was hit: maker
    OMNI_LIQ_REMOVED = 2, // our order took a resting one: taker
};

// order.reason: why an order was rejected or canceled, or a cancel refused. The high
// byte says who decided, the low byte carries that party's own code, so a venue's code
// passes through unchanged and a journal keeps it.
enum {
    OMNI_REASON_NONE = 0,            // not a refusal (accepted, requested cancel), or not given
    OMNI_REASON_OUCH = 0x0100,       // | the OUCH reject / cancel reason character
    OMNI_REASON_FIX = 0x0200,        // | FIX OrdRejReason (103) or CxlRejReason (102)
    OMNI_REASON_RISK = 0x0300,       // | the pre-trade check that refused it (CRisk's check id)
    OMNI_REASON_GATEWAY = 0x0400,    // | ours, below: the gateway could not send it
    OMNI_REASON_KILL_SWITCH = 0x0401, // the kill switch is on: nothing goes out
    OMNI_REASON_NOT_CONNECTED = 0x0402, // no order-entry session is up
    OMNI_REASON_UNKNOWN_ORDER = 0x0403, // cancel / replace for a client_order_id not open
};

enum {
    OMNI_CMD_STOP = 1,      // drain the input rings, then stop
    OMNI_CMD_KILL = 2,      // kill switch: cancel every open order, send nothing more; arg[0] = reason code
    OMNI_CMD_SET_PARAM = 3, // arg[0] = parameter id, arg[1] = new value (integer; prices in ITCH units): the
                            // reader's own ids (the trading loop: OMNI_PARAM_* of instrument `locate`;
                            // the risk gate: index << 16 | its rule-table field)
    OMNI_CMD_KILL_RESET = 4, // a person's reset of the kill switch: orders may go out again, quoting resumes
    OMNI_CMD_QUOTING = 5,    // instrument `locate`: arg[0] = 1 quote it, 0 stop (its orders canceled)
    OMNI_CMD_SET_LIMITS = 6, // instrument `locate`'s risk limits: arg[0] = max order quantity (shares),
                             // arg[1] = max position (shares long or short)
    OMNI_CMD_ACK = 7,        // hot path -> control plane, one per command read: seq and rx_tsc the command's
                             // (rx_tsc: when the control plane pushed it), hop[0] pushed -> applied,
                             // target = the command's code, arg[0] = the configuration version after it,
                             // arg[1] = OMNI_CMDR_*
};

// The trading loop's parameters (OMNI_CMD_SET_PARAM's arg[0]), per instrument.
enum {
    OMNI_PARAM_SPREAD_TICKS = 1, // ticks from the mid to each quote
    OMNI_PARAM_SIZE = 2,         // shares per quote
    OMNI_PARAM_SKEW_SHARES = 3,  // shares of position that move both quotes one tick
    OMNI_PARAM_MAX_POSITION = 4, // shares long or short at most (the quote ladder's depth)
};

// What the hot path did with a command (OMNI_CMD_ACK's arg[1]); only APPLIED moves the version.
enum {
    OMNI_CMDR_APPLIED = 0,
    OMNI_CMDR_UNKNOWN_COMMAND = 1,    // a code this reader does not apply
    OMNI_CMDR_UNKNOWN_INSTRUMENT = 2, // a locate this loop does not trade
    OMNI_CMDR_UNKNOWN_PARAMETER = 3,  // a parameter the instrument's strategy does not have
    OMNI_CMDR_BAD_VALUE = 4,          // a value out of the parameter's range
    OMNI_CMDR_NOT_KILLED = 5,         // kill reset while the switch is off
};

typedef struct {
    uint32_t price;      // ITCH units: 4 implied decimals
    uint32_t orders;     // orders resting at the level; 0 with size 0: the level is gone
    uint64_t size;       // aggregate shares at the level
    uint8_t side;        // OMNI_SIDE_*
    uint8_t depth;       // 0 = best level, 1 = next, ...
    uint8_t reserved[14];
} omni_book_level;

// Best bid and offer. Also CBook's own record of each book's BBO (cbook_get_bbo), so a
// book stage copies it into an event whole.
typedef struct {
    uint32_t bid_px, ask_px; // ITCH units; 0 = that side is empty
    uint64_t bid_sz, ask_sz; // aggregate shares at the best levels; 0 = that side is empty
} omni_bbo;

typedef struct {
    uint64_t client_order_id; // ours, kept across replaces: the gateway maps it to the venue's token chain
    uint32_t price;           // limit, ITCH units
    uint32_t qty;             // shares: new / replace / answers: order size; cancel: shares left open (0 = all)
    uint16_t strategy;        // the strategy that owns the order (its id in the run); answers carry it back
    uint8_t side;             // OMNI_SIDE_*
    uint8_t order_flags;      // OMNI_ORDF_*
    uint16_t reason;          // OMNI_REASON_*: rejected, canceled, cancel rejected; else 0
    uint8_t reserved[2];
    uint64_t venue_ns;        // answers: the venue's time of it, ns since midnight (venue's clock); requests: 0
} omni_order;

typedef struct {
    uint64_t client_order_id; // the order executed (its side is the order's); the match number is the event's seq
    uint64_t venue_ns;        // the venue's time of the execution, ns since midnight (venue's clock)
    uint32_t last_px;         // execution price, ITCH units
    uint32_t last_qty;        // shares executed in this fill
    uint32_t leaves_qty;      // shares still open after it (0: the order is done)
    uint16_t strategy;        // the owning strategy, as on the order
    uint8_t side;             // OMNI_SIDE_*: our side
    uint8_t liquidity;        // OMNI_LIQ_*
} omni_fill;

typedef struct {
    uint32_t code;   // OMNI_CMD_*
    uint32_t target; // the stage it is for; 0 = every stage reading the ring
    uint64_t arg[2]; // meaning per code
    uint8_t reserved[8];
} omni_command;

// A zero-copy view of one ITCH message inside the feed's input buffer (a mapped
// day file, a receive buffer), which outlives every event that refers to it.
// Offsets rather than pointers keep the ABI free of pointers. A message with no
// lasting buffer (a live MoldUDP64 session's, applied before its event is made)
// has offset OMNI_ITCH_NO_OFFSET: the event reports it, nothing reads it back.
#define OMNI_ITCH_NO_OFFSET 0xFFFFFFFFFFFFFFFFull // UINT64_MAX, spelt so that Swift imports it
typedef struct {
    uint64_t offset;     // byte offset of the message's first byte (its type) in the input buffer
    uint16_t length;     // message length in bytes, as framed
    uint8_t msg_type;    // the message's type byte once decoded; 0 before (or when it did not decode)
    uint8_t reserved[21];
} omni_itch_ref;

typedef struct omni_event {
    uint8_t type;   // omni_event_type
    uint8_t flags;  // OMNI_EVF_*
    uint16_t locate;
    uint16_t source;
    uint16_t hop[OMNI_EVENT_HOPS]; // hop codes, see the top of this file
    uint64_t seq;
    uint64_t rx_tsc;
    union {
        omni_book_level level;
        omni_bbo bbo;
        omni_order order;
        omni_fill fill;
        omni_command command;
        omni_itch_ref itch;
    };
} omni_event;

// The offset table above, checked field by field.
_Static_assert(sizeof(omni_event) == 64, "omni_event is one cache line");
_Static_assert(_Alignof(omni_event) == 8, "8-byte fields: rings and journals place events on 64-byte boundaries");
_Static_assert(offsetof(omni_event, type) == 0 && offsetof(omni_event, flags) == 1, "type, flags");
_Static_assert(offsetof(omni_event, locate) == 2 && offsetof(omni_event, source) == 4, "locate, source");
_Static_assert(offsetof(omni_event, hop) == 6 && sizeof(((omni_event *)0)->hop) == 10, "hop[5]");
_Static_assert(offsetof(omni_event, seq) == 16 && offsetof(omni_event, rx_tsc) == 24, "seq, rx_tsc");
_Static_assert(offsetof(omni_event, level) == 32 && offsetof(omni_event, bbo) == 32
               && offsetof(omni_event, order) == 32 && offsetof(omni_event, fill) == 32
               && offsetof(omni_event, command) == 32 && offsetof(omni_event, itch) == 32, "payload at 32");
_Static_assert(sizeof(omni_book_level) == 32 && sizeof(omni_order) == 32
               && sizeof(omni_fill) == 32 && sizeof(omni_command) == 32 && sizeof(omni_itch_ref) == 32,
               "every payload but bbo fills the 32 bytes");
_Static_assert(sizeof(omni_bbo) == 24, "omni_bbo: CBook keeps one per book");
_Static_assert(offsetof(omni_book_level, price) == 0 && offsetof(omni_book_level, orders) == 4
               && offsetof(omni_book_level, size) == 8 && offsetof(omni_book_level, side) == 16
               && offsetof(omni_book_level, depth) == 17, "level");
_Static_assert(offsetof(omni_bbo, bid_px) == 0 && offsetof(omni_bbo, ask_px) == 4
               && offsetof(omni_bbo, bid_sz) == 8 && offsetof(omni_bbo, ask_sz) == 16, "bbo");
_Static_assert(offsetof(omni_itch_ref, offset) == 0 && offsetof(omni_itch_ref, length) == 8
               && offsetof(omni_itch_ref, msg_type) == 10, "itch");
_Static_assert(offsetof(omni_order, client_order_id) == 0 && offsetof(omni_order, price) == 8
               && offsetof(omni_order, qty) == 12 && offsetof(omni_order, strategy) == 16
               && offsetof(omni_order, side) == 18 && offsetof(omni_order, order_flags) == 19
               && offsetof(omni_order, reason) == 20 && offsetof(omni_order, venue_ns) == 24, "order");
_Static_assert(offsetof(omni_fill, client_order_id) == 0 && offsetof(omni_fill, venue_ns) == 8
               && offsetof(omni_fill, last_px) == 16 && offsetof(omni_fill, last_qty) == 20
               && offsetof(omni_fill, leaves_qty) == 24 && offsetof(omni_fill, strategy) == 28
               && offsetof(omni_fill, side) == 30 && offsetof(omni_fill, liquidity) == 31, "fill");
_Static_assert(offsetof(omni_command, code) == 0 && offsetof(omni_command, target) == 4
               && offsetof(omni_command, arg) == 8, "command");

// The ABI version this object file was built with (cevent.c): a process can check
// a kernel library it loads against the header it was compiled with.
uint32_t omni_event_abi_version(void);

// Ticks -> 16-bit hop code (see the top of this file). Monotonic; truncates, never rounds up.
static inline uint16_t omni_hop_encode(uint64_t ticks) {
    if (ticks < (1u << OMNI_HOP_MANTISSA_BITS)) return (uint16_t)ticks; // exponent 0: exact
    if (ticks >> 27) return OMNI_HOP_SATURATED;                             // beyond exponent 15
    unsigned msb = 63u - (unsigned)__builtin_clzll(ticks);                  // 12...26; ticks != 0 here
    unsigned e = msb - (OMNI_HOP_MANTISSA_BITS - 1);                        // 1...15
    // ticks >> (e - 1) is 13 bits with the top one set: it is implied, the 12 below are kept.
    return (uint16_t)((e << OMNI_HOP_MANTISSA_BITS) | ((ticks >> (e - 1)) & 0xFFFu));
}

// 16-bit hop code -> ticks (the lower bound of what was encoded).
static inline uint64_t omni_hop_decode(uint16_t code) {
    unsigned e = code >> OMNI_HOP_MANTISSA_BITS;
    uint64_t m = code & 0xFFFu;
    return e == 0 ? m : (0x1000u | m) << (e - 1);
}

// Records the end of hop `hop` (OMNI_HOP_*) at TSC reading `now`: ticks since rx_tsc,
// encoded, saturated, and at least 1 so that a stamped hop never reads as unstamped.
// `hop` must be below OMNI_EVENT_HOPS.
static inline void omni_event_stamp(omni_event *e, unsigned hop, uint64_t now) {
    uint64_t d = now - e->rx_tsc; // a reading before rx_tsc wraps to a huge value and saturates
    e->hop[hop] = d == 0 ? 1u : omni_hop_encode(d);
}

// Ticks from rx_tsc to the end of hop `hop`; 0 = not stamped.
static inline uint64_t omni_event_hop_ticks(const omni_event *e, unsigned hop) {
    return omni_hop_decode(e->hop[hop]);
}

// Our client order ids carry their order-table slot in the low 24 bits (the generation of
// the slot above), so every side of the loop finds an order's state in one step.
#define OMNI_ORDER_SLOT_BITS 24
static inline uint32_t omni_order_slot(uint64_t client_order_id) {
    return (uint32_t)(client_order_id & ((1ull << OMNI_ORDER_SLOT_BITS) - 1));
}

// An order event (request or answer) with every other field zero: the one constructor of
// the order ledger's requests, the in-process venue's answers and the tests' orders.
static inline omni_event omni_order_event(uint8_t type, uint16_t locate, uint64_t client_order_id, uint8_t side,
                                          uint32_t price, uint32_t qty, uint16_t strategy, uint8_t order_flags) {
    omni_event e;
    memset(&e, 0, sizeof e);
    e.type = type;
    e.locate = locate;
    e.order.client_order_id = client_order_id;
    e.order.side = side;
    e.order.price = price;
    e.order.qty = qty;
    e.order.strategy = strategy;
    e.order.order_flags = order_flags;
    return e;
}

#ifdef __cplusplus
}
#endif

#endif
