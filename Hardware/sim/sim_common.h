// What the Verilator harnesses share: the clock, the reset, a min..max range, option values.
#ifndef SIM_COMMON_H
#define SIM_COMMON_H

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

struct Range {
    uint64_t min = UINT64_MAX, max = 0;
    void add(uint64_t v) { if (v < min) min = v; if (v > max) max = v; }
};

// One clock edge and back: the registers take what the inputs present.
template <class Top> void sim_clock(Top *top) {
    top->clk = 1; top->eval(); top->clk = 0; top->eval();
}

// Four clocks with rst_n low, then rst_n high.
template <class Top> void sim_reset(Top *top) {
    top->clk = 0;
    top->rst_n = 0;
    for (int k = 0; k < 4; k++) sim_clock(top);
    top->rst_n = 1;
    top->eval();
}

// Reads the command line of harness `tool`: the value after option argv[i] (i moves past it),
// as text or as a number; a missing or malformed value ends the harness (exit 2) naming both.
struct OptionReader {
    int argc; char **argv; int i; const char *tool;
    std::string text() {
        if (i + 1 >= argc) { fprintf(stderr, "%s: %s needs a value\n", tool, argv[i]); exit(2); }
        return std::string(argv[++i]);
    }
    uint64_t count() { return number<uint64_t>([](const char *s, char **e) { return strtoull(s, e, 10); }); }
    double share() { return number<double>([](const char *s, char **e) { return strtod(s, e); }); }
    template <class T, class Parse> T number(Parse parse) {
        std::string v = text();
        char *end = nullptr;
        T x = parse(v.c_str(), &end);
        if (v.empty() || *end != 0 || v[0] == '-') { fprintf(stderr, "%s: %s: '%s' is not a number\n", tool, argv[i - 1], v.c_str()); exit(2); }
        return x;
    }
};

#endif
