// Timing wrapper for place and route only: every port of mold_itch_decoder goes through a
// register, so every path nextpnr times is register to register inside the FPGA (no pin
// timing, no I/O constraints). Not a functional top: the registered s_tready is a beat late.
module fmax_top (
    input  logic         clk,
    input  logic         rst_n,
    input  logic [15:0]  cfg_source,
    input  logic [63:0]  s_tdata,
    input  logic [7:0]   s_tkeep,
    input  logic         s_tlast,
    input  logic         s_tvalid,
    output logic         s_tready,
    output logic [511:0] m_tdata,
    output logic         m_tvalid,
    input  logic         m_tready,
    output logic [447:0] counters
);
    logic [15:0]  source_q;
    logic [63:0]  tdata_q;
    logic [7:0]   tkeep_q;
    logic         tlast_q, tvalid_q, mready_q, rst_n_q;
    logic         s_tready_d, m_tvalid_d;
    logic [511:0] m_tdata_d;
    logic [447:0] counters_d;

    always_ff @(posedge clk) begin
        rst_n_q <= rst_n; source_q <= cfg_source; tdata_q <= s_tdata; tkeep_q <= s_tkeep; tlast_q <= s_tlast;
        tvalid_q <= s_tvalid; mready_q <= m_tready;
        s_tready <= s_tready_d; m_tdata <= m_tdata_d; m_tvalid <= m_tvalid_d; counters <= counters_d;
    end

    mold_itch_decoder dut (
        .clk, .rst_n(rst_n_q), .cfg_source(source_q),
        .s_tdata(tdata_q), .s_tkeep(tkeep_q), .s_tlast(tlast_q), .s_tvalid(tvalid_q), .s_tready(s_tready_d),
        .m_tdata(m_tdata_d), .m_tvalid(m_tvalid_d), .m_tready(mready_q),
        .cnt_packets(counters_d[0 +: 64]), .cnt_heartbeats(counters_d[64 +: 64]),
        .cnt_end_of_session(counters_d[128 +: 64]), .cnt_messages(counters_d[192 +: 64]),
        .cnt_malformed(counters_d[256 +: 64]), .cnt_truncated(counters_d[320 +: 64]),
        .cnt_trailing(counters_d[384 +: 64])
    );
endmodule
