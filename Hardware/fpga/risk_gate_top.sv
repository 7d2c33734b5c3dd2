// Timing wrapper of risk_gate for place and route only, as fmax_top.sv is the decoder's: every
// port goes through a register, so every path nextpnr times is register to register inside
// the FPGA. Not a functional top: the registered s_tready is a record late.
module risk_gate_top (
    input  logic          clk,
    input  logic          rst_n,
    input  logic [511:0]  s_tdata,
    input  logic [63:0]   s_now,
    input  logic          s_tvalid,
    output logic          s_tready,
    output logic [511:0]  m_tdata,
    output logic          m_tvalid,
    input  logic          m_tready,
    output logic [1215:0] counters
);
    logic [511:0]  tdata_q, m_tdata_d;
    logic [63:0]   now_q;
    logic          tvalid_q, mready_q, rst_n_q, s_tready_d, m_tvalid_d;
    logic [1215:0] counters_d;

    always_ff @(posedge clk) begin
        rst_n_q <= rst_n; tdata_q <= s_tdata; now_q <= s_now; tvalid_q <= s_tvalid; mready_q <= m_tready;
        s_tready <= s_tready_d; m_tdata <= m_tdata_d; m_tvalid <= m_tvalid_d; counters <= counters_d;
    end

    risk_gate dut (
        .clk, .rst_n(rst_n_q), .s_tdata(tdata_q), .s_now(now_q), .s_tvalid(tvalid_q), .s_tready(s_tready_d),
        .m_tdata(m_tdata_d), .m_tvalid(m_tvalid_d), .m_tready(mready_q),
        .cnt_checks(counters_d[0 +: 1088]), .cnt_unknown(counters_d[1088 +: 64]), .cnt_kills(counters_d[1152 +: 64])
    );
endmodule
