// Verilator harness of mold_itch_decoder: each ITCH day file given is packed into MoldUDP64
// packets (random message counts) and fed to the kernel; every record that comes out is
// compared, byte for byte with the timing fields masked, with CWire's cw_mold_events of the
// same packet. Two passes per file:
//   unstalled  back-to-back beats, output always ready: the latency from a message's last
//              byte to its record must be one number (min = max, asserted);
//   stalled    random idle cycles on the input, random output back-pressure, heartbeats, and
//              damaged packets (cut short, trailing bytes, bad lengths, unknown types, runs of
//              tiny blocks) between the good ones: records and counters must still agree.
// Latency is counted in clock edges from the edge that takes the beat holding the message's
// first byte (its type byte) / last byte to the edge that takes its record.
// Exit status 0 when nothing differs; the first difference names the message and stops.
//
// With --ring NAME --payload FILE (one day file) it is the producer of the seam instead: one
// unstalled pass whose records, still compared, also go into the shared-memory ring NAME
// (a full ring holds the kernel's output back), with FILE holding the packets back to back,
// the buffer the records' offsets point into; an OMNI_CMD_STOP event ends the stream.
#include "Vmold_itch_decoder.h"
#include "verilated.h"

#include "cw_frame.h"
#include "cw_mold_events.h"
#include "seam_ring.h"
#include "sim_common.h"

#include <chrono>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr size_t kPacketCap = 1400;    // a MoldUDP64 packet in one Ethernet frame
constexpr uint16_t kSource = 0x5a17;   // cfg_source, and the reference's source
constexpr size_t kBeatWindow = 1 << 16; // beats whose take cycle is remembered (a record lags far less)
const uint8_t kSession[CW_MOLD_SESSION_LEN] = {'O', 'M', 'N', 'I', 'H', 'W', '0', '0', '0', '1'};

struct Options {
    uint64_t seed = 1;
    unsigned max_count = 24;  // messages per packet: 1..max_count (as many as fit)
    double idle = 0.2;        // stalled pass: chance of 1-3 idle cycles before a beat
    double stall = 0.3;       // stalled pass: chance that the output is not ready in a cycle
    double faults = 0.03;     // stalled pass: chance of a damaged packet after each good one
    double heartbeats = 0.02; // stalled pass: chance of a heartbeat after each good one
    std::string ring, payload;  // seam mode
    std::vector<std::string> files;
};

struct Expected {
    uint8_t rec[64];
    uint64_t first_beat, last_beat; // beats holding the message's first and last byte
};

struct PassResult {
    uint64_t records = 0, cycles = 0;
    Range first, last;
    double seconds = 0;
    cw_mold_event_counts counts{};
};

std::vector<uint8_t> read_file(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) { fprintf(stderr, "hw-harness: cannot read %s\n", path.c_str()); exit(2); }
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

// The day file's messages, in order; a truncated file is refused.
std::vector<std::pair<const uint8_t *, uint16_t>> messages_of(const std::vector<uint8_t> &file, const std::string &path) {
    std::vector<std::pair<const uint8_t *, uint16_t>> out;
    size_t off = 0;
    const uint8_t *m;
    uint16_t len;
    cw_frame_result r;
    while ((r = cw_dayfile_next(file.data(), file.size(), &off, &m, &len)) == CW_FRAME_MSG) out.emplace_back(m, len);
    if (r == CW_FRAME_TRUNCATED) { fprintf(stderr, "hw-harness: %s is truncated at byte %zu\n", path.c_str(), off); exit(2); }
    return out;
}

// Good packets: consecutive sequence numbers from 1, 1..max_count messages each, end of session last.
std::vector<std::vector<uint8_t>> pack(const std::vector<std::pair<const uint8_t *, uint16_t>> &msgs, const Options &o,
                                       std::mt19937_64 &rng) {
    std::vector<std::vector<uint8_t>> packets;
    uint64_t seq = 1;
    size_t i = 0;
    while (i < msgs.size()) {
        std::vector<uint8_t> p(kPacketCap);
        cw_mold_builder b;
        cw_mold_begin(&b, p.data(), p.size(), kSession, seq);
        unsigned want = 1 + (unsigned)(rng() % o.max_count);
        while (b.count < want && i < msgs.size() && cw_mold_append(&b, msgs[i].first, msgs[i].second) == 0) i++;
        if (b.count == 0) { fprintf(stderr, "hw-harness: a %u-byte message does not fit a packet\n", msgs[i].second); exit(2); }
        seq += b.count;
        p.resize(b.len);
        packets.push_back(std::move(p));
    }
    std::vector<uint8_t> end(CW_MOLD_HEADER_LEN);
    cw_mold_builder b;
    cw_mold_begin(&b, end.data(), end.size(), kSession, seq);
    cw_mold_mark_end_of_session(&b);
    packets.push_back(std::move(end));
    return packets;
}

std::vector<uint8_t> heartbeat(uint64_t seq) {
    std::vector<uint8_t> p(CW_MOLD_HEADER_LEN);
    cw_mold_builder b;
    cw_mold_begin(&b, p.data(), p.size(), kSession, seq);
    return p;
}

// A damaged copy of `good`, or a packet of tiny blocks: what the malformed-input rules are for.
std::vector<uint8_t> damage(const std::vector<uint8_t> &good, std::mt19937_64 &rng) {
    std::vector<uint8_t> p = good;
    switch (rng() % 6) {
    case 0: p.resize(1 + rng() % (p.size() - 1)); break;                          // cut short (header too)
    case 1: for (unsigned k = 1 + rng() % 9; k; k--) p.push_back((uint8_t)rng()); break; // trailing bytes
    case 2: { // one block's length prefix rewritten: 0..60
        cw_mold_header h;
        cw_mold_parse_header(p.data(), p.size(), &h);
        cw_mold_cursor c;
        cw_mold_cursor_init(&c, p.data(), p.size(), &h);
        const uint8_t *m;
        uint16_t len;
        std::vector<size_t> at;
        while (cw_mold_next(&c, &m, &len) == CW_FRAME_MSG) at.push_back((size_t)(m - p.data()) - 2);
        if (!at.empty()) cw_put16(p.data() + at[rng() % at.size()], (uint16_t)(rng() % 61));
        break;
    }
    case 3: if (p.size() > CW_MOLD_HEADER_LEN + 2) p[CW_MOLD_HEADER_LEN + 2] = (uint8_t)rng(); break; // first block's type byte
    case 4: cw_put16(p.data() + 18, (uint16_t)(rng() % 40)); break;               // block count
    default: { // 1..20 blocks of 0..15 random bytes: several block boundaries per beat
        p.resize(CW_MOLD_HEADER_LEN);
        unsigned n = 1 + (unsigned)(rng() % 20);
        for (unsigned k = 0; k < n; k++) {
            unsigned len = (unsigned)(rng() % 16);
            p.push_back((uint8_t)(len >> 8)); p.push_back((uint8_t)len);
            for (unsigned j = 0; j < len; j++) p.push_back((uint8_t)rng());
        }
        cw_put16(p.data() + 18, (uint16_t)n);
    }
    }
    return p;
}

void hex(const char *label, const uint8_t *r) {
    fprintf(stderr, "  %-8s", label);
    for (int k = 0; k < 64; k++) fprintf(stderr, "%02x%s", r[k], k % 16 == 15 ? (k == 63 ? "\n" : "\n          ") : " ");
}

// Timing fields: hop[] (bytes 6-15) and rx_tsc (24-31).
bool same_record(const uint8_t *a, const uint8_t *b) {
    return memcmp(a, b, 6) == 0 && memcmp(a + 16, b + 16, 8) == 0 && memcmp(a + 32, b + 32, 32) == 0;
}

[[noreturn]] void differ(const std::string &file, const char *pass, const char *what, const uint8_t *want, const uint8_t *got) {
    omni_event e;
    memcpy(&e, want ? want : got, sizeof e);
    fprintf(stderr, "hw-harness: FAIL %s, %s pass: %s: message seq %" PRIu64 " type '%c' at stream offset %" PRIu64
            ", length %u\n", file.c_str(), pass, what, e.seq, e.itch.msg_type,
            e.itch.offset, e.itch.length);
    if (want) hex("CWire", want);
    if (got) hex("kernel", got);
    exit(1);
}

PassResult run_pass(const std::string &file, const std::vector<std::vector<uint8_t>> &good, bool stalled, bool to_ring,
                    const Options &o, uint64_t seed) {
    const char *pass = stalled ? "stalled" : "unstalled";
    std::mt19937_64 rng(seed);
    std::bernoulli_distribution idle(stalled ? o.idle : 0), stall(stalled ? o.stall : 0), fault(stalled ? o.faults : 0),
        beat(stalled ? o.heartbeats : 0);

    // The packets fed, in order: the good ones with, in the stalled pass, the rest between them.
    std::vector<const std::vector<uint8_t> *> feed;
    std::vector<std::vector<uint8_t>> extra;
    extra.reserve(good.size() * 2); // at most two per good packet: `feed` points into it, so it never reallocates
    uint64_t next_seq = 1;
    for (const auto &p : good) {
        feed.push_back(&p);
        cw_mold_header h;
        cw_mold_parse_header(p.data(), p.size(), &h);
        if (h.count != CW_MOLD_END_OF_SESSION) next_seq = h.sequence + h.count;
        if (beat(rng)) { extra.push_back(heartbeat(next_seq)); feed.push_back(&extra.back()); }
        if (fault(rng)) { extra.push_back(damage(p, rng)); feed.push_back(&extra.back()); }
    }

    PassResult res;
    std::deque<Expected> want;
    std::vector<uint64_t> take_cycle(kBeatWindow);
    std::vector<omni_event> evs;

    auto *top = new Vmold_itch_decoder;
    top->cfg_source = kSource;
    top->s_tvalid = 0;
    top->m_tready = 1;
    sim_reset(top);

    size_t pi = 0, off = 0;                 // packet being fed, its next byte
    bool queued = false;                    // its records are in `want`
    uint64_t beats = 0, stream = 0, cycle = 0, quiet = 0;
    unsigned idle_left = 0;                 // idle cycles before the next beat
    std::optional<std::chrono::steady_clock::time_point> full_since; // seam mode: the ring full since then
    auto t0 = std::chrono::steady_clock::now();
    while (pi < feed.size() || !want.empty()) {
        bool feeding = pi < feed.size();
        const std::vector<uint8_t> &p = *feed[feeding ? pi : 0];
        if (feeding && !queued) {
            // A new packet: its records as CWire makes them, with the beats that hold each message.
            evs.resize(CW_MOLD_MAX_EVENTS(p.size()));
            int n = cw_mold_events(p.data(), p.size(), stream, kSource, 0, evs.data(), evs.size(), &res.counts);
            if (n < 0) { fprintf(stderr, "hw-harness: cw_mold_events: %d\n", n); exit(2); }
            for (int k = 0; k < n; k++) {
                Expected x;
                memcpy(x.rec, &evs[k], 64);
                uint64_t at = evs[k].itch.offset - stream;
                x.first_beat = beats + at / 8;
                x.last_beat = beats + (at + evs[k].itch.length - 1) / 8;
                want.push_back(x);
            }
            queued = true;
        }
        bool offer = feeding && idle_left == 0;
        size_t n = feeding ? std::min<size_t>(8, p.size() - off) : 0;
        if (offer) {
            uint64_t d = 0;
            memcpy(&d, p.data() + off, n);
            top->s_tdata = d;
            top->s_tkeep = (uint8_t)((1u << n) - 1);
            top->s_tlast = off + n == p.size();
        }
        top->s_tvalid = offer;
        top->eval();
        bool ready = !stall(rng);
        if (ready && to_ring && top->m_tvalid) {
            if (seam_ring_push(top->m_tdata.data())) {
                full_since.reset();
            } else {
                ready = false; // the ring is full: hold the record, let the consumer run
                auto now = std::chrono::steady_clock::now();
                if (!full_since) full_since = now;
                if (now - *full_since > std::chrono::seconds(30)) {
                    fprintf(stderr, "hw-harness: FAIL %s: the ring has been full for 30 s: is its consumer running?\n", file.c_str());
                    exit(1);
                }
                std::this_thread::yield();
            }
        }
        top->m_tready = ready;
        top->eval();
        bool in = offer && top->s_tready;
        bool out = top->m_tvalid && ready;
        uint8_t got[64];
        if (out) memcpy(got, top->m_tdata.data(), 64);
        sim_clock(top);
        cycle++;
        if (idle_left) idle_left--;
        if (in) {
            take_cycle[beats++ % kBeatWindow] = cycle;
            off += n;
            if (off == p.size()) { stream += p.size(); pi++; off = 0; queued = false; }
            idle_left = idle(rng) ? 1 + (unsigned)(rng() % 3) : 0;
        }
        if (out) {
            if (want.empty()) differ(file, pass, "a record CWire did not make", nullptr, got);
            const Expected &x = want.front();
            if (!same_record(x.rec, got)) differ(file, pass, "records differ", x.rec, got);
            if (beats - x.first_beat > kBeatWindow) { fprintf(stderr, "hw-harness: a record lags beyond the window\n"); exit(2); }
            res.first.add(cycle - take_cycle[x.first_beat % kBeatWindow]);
            res.last.add(cycle - take_cycle[x.last_beat % kBeatWindow]);
            want.pop_front();
            res.records++;
            quiet = 0;
        } else if (!feeding && !top->m_tvalid && ++quiet > 1000) {
            differ(file, pass, "no record came out", want.front().rec, nullptr);
        }
    }
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    res.cycles = cycle;

    // Counters: the kernel's against CWire's, once the last beat's counts are in (two clocks).
    top->s_tvalid = 0;
    for (int k = 0; k < 4; k++) sim_clock(top);
    const struct { const char *name; uint64_t want, got; } cs[] = {
        {"packets", res.counts.packets, top->cnt_packets},
        {"heartbeats", res.counts.heartbeats, top->cnt_heartbeats},
        {"end_of_session", res.counts.end_of_session, top->cnt_end_of_session},
        {"messages", res.counts.messages, top->cnt_messages},
        {"malformed", res.counts.malformed, top->cnt_malformed},
        {"truncated", res.counts.truncated, top->cnt_truncated},
        {"trailing", res.counts.trailing, top->cnt_trailing},
    };
    for (const auto &c : cs)
        if (c.want != c.got) {
            fprintf(stderr, "hw-harness: FAIL %s, %s pass: counter %s: CWire %" PRIu64 ", kernel %" PRIu64 "\n", file.c_str(),
                    pass, c.name, c.want, c.got);
            exit(1);
        }
    top->final();
    delete top;
    return res;
}

void report(const std::string &file, const char *pass, const PassResult &r) {
    printf("%s %s: %" PRIu64 " records, 0 differences; packets %" PRIu64 " (heartbeats %" PRIu64 ", end of session %" PRIu64
           ", truncated %" PRIu64 ", trailing %" PRIu64 "), malformed blocks %" PRIu64 "; latency from last byte %" PRIu64
           "..%" PRIu64 " cycles, from first byte %" PRIu64 "..%" PRIu64 " cycles; %" PRIu64 " cycles, %.0f messages/s simulated\n",
           file.c_str(), pass, r.records, r.counts.packets, r.counts.heartbeats, r.counts.end_of_session, r.counts.truncated,
           r.counts.trailing, r.counts.malformed, r.last.min, r.last.max, r.first.min, r.first.max, r.cycles,
           r.seconds > 0 ? r.records / r.seconds : 0.0);
    fflush(stdout);
}

// Seam mode: the packets to the payload file, then the kernel's records into the ring.
int feed_ring(const Options &o) {
    const std::string &path = o.files[0];
    std::vector<uint8_t> file = read_file(path);
    std::mt19937_64 rng(o.seed);
    auto packets = pack(messages_of(file, path), o, rng);
    FILE *f = fopen(o.payload.c_str(), "wb");
    if (!f) { perror(o.payload.c_str()); return 2; }
    for (const auto &p : packets) fwrite(p.data(), 1, p.size(), f);
    if (fclose(f) != 0) { perror(o.payload.c_str()); return 2; }
    int st = seam_ring_create(o.ring.c_str(), 4096);
    if (st != 0) { fprintf(stderr, "hw-harness: ring %s: %s (%s)\n", o.ring.c_str(), seam_ring_status(st), strerror(errno)); return 2; }
    std::string name = path.substr(path.find_last_of('/') + 1);
    PassResult r = run_pass(name, packets, false, true, o, o.seed + 1);
    seam_ring_finish();
    report(name, "to the ring", r);
    return 0;
}

} // namespace

int main(int argc, char **argv) {
    Verilated::commandArgs(argc, argv);
    Options o;
    for (OptionReader r{argc, argv, 1, "hw-harness"}; r.i < argc; r.i++) {
        std::string a = argv[r.i];
        if (a == "--seed") o.seed = r.count();
        else if (a == "--max-count") o.max_count = (unsigned)r.count();
        else if (a == "--idle") o.idle = r.share();
        else if (a == "--stall") o.stall = r.share();
        else if (a == "--faults") o.faults = r.share();
        else if (a == "--ring") o.ring = r.text();
        else if (a == "--payload") o.payload = r.text();
        else if (a[0] == '-' && a[1] == '-') { fprintf(stderr, "hw-harness: unknown option %s\n", a.c_str()); return 2; }
        else o.files.push_back(a);
    }
    if (o.files.empty() || o.max_count == 0 || o.ring.empty() != o.payload.empty() || (!o.ring.empty() && o.files.size() != 1)) {
        fprintf(stderr, "usage: %s [--seed N] [--max-count N] [--idle P] [--stall P] [--faults P] DAYFILE...\n"
                        "       %s [--seed N] [--max-count N] --ring NAME --payload FILE DAYFILE\n", argv[0], argv[0]);
        return 2;
    }
    if (!o.ring.empty()) return feed_ring(o);
    printf("hw-harness: seed %" PRIu64 ", 1..%u messages per packet; stalled pass: idle %.2f, back-pressure %.2f, "
           "damaged packets %.2f, heartbeats %.2f\n", o.seed, o.max_count, o.idle, o.stall, o.faults, o.heartbeats);
    uint64_t total = 0;
    double secs = 0;
    Range last_unstalled;
    for (const auto &path : o.files) {
        std::vector<uint8_t> file = read_file(path);
        auto msgs = messages_of(file, path);
        std::mt19937_64 rng(o.seed);
        auto packets = pack(msgs, o, rng);
        std::string name = path.substr(path.find_last_of('/') + 1);
        PassResult u = run_pass(name, packets, false, false, o, o.seed + 1);
        if (u.last.min != u.last.max) {
            fprintf(stderr, "hw-harness: FAIL %s: unstalled latency from last byte is not one number: %" PRIu64 "..%" PRIu64 "\n",
                    name.c_str(), u.last.min, u.last.max);
            return 1;
        }
        if (u.records != msgs.size()) {
            fprintf(stderr, "hw-harness: FAIL %s: %" PRIu64 " records for %zu messages\n", name.c_str(), u.records, msgs.size());
            return 1;
        }
        report(name, "unstalled", u);
        PassResult s = run_pass(name, packets, true, false, o, o.seed + 2);
        report(name, "stalled", s);
        last_unstalled.add(u.last.min);
        total += u.records + s.records;
        secs += u.seconds + s.seconds;
    }
    printf("hw-harness: PASS: %" PRIu64 " records compared, 0 differences; unstalled latency from last byte %" PRIu64
           " cycles; %.0f messages/s simulated overall\n", total, last_unstalled.max, secs > 0 ? total / secs : 0.0);
    return 0;
}
