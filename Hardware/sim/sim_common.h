// What the Verilator harnesses share: the clock, the reset, and a min..max range.
#ifndef SIM_COMMON_H
#define SIM_COMMON_H

#include <cstdint>

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

#endif
