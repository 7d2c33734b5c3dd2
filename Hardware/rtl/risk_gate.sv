// Pre-trade risk gate: CRisk's checks (CKernels/CRisk, crisk.h) as an FPGA kernel. One
// omni_event record (CEvent ABI v2) per clock in, with the time `s_now` (ns) it is handled at:
// order requests (NEW, CANCEL, REPLACE), the venue's answers and fills, BBOs, and commands
// (the kill switch, the rule table). Out, per request, in order: the request record with
// order.reason = OMNI_REASON_RISK | the id of the check that refused it, or 0 when it passed.
// The software reference is crisk_check / crisk_on_event: same rules, same order of checks,
// same state; see the README's "Offload experiments" for the one check left out.
//
// Left out: DAILY_LOSS (check 4). Its PnL needs an average-cost division (open cost x closed
// shares / held shares, 128 bits) on every closing fill; the gate keeps positions but no PnL,
// and never refuses with id 4.
//
// Everything else is CRisk's rule for rule, with these forms of it:
//   - self-cross compares the request with every working order of the other side in parallel
//     (CRisk's cached best price is exactly their extreme: UINT32_MAX / 0 when there is none);
//   - duplicates compare with every entry of the strategy's ring of its last DUP_MEMORY new
//     orders (CRisk's index finds the newest copy; with `now` never going back, the same);
//   - the collar compares without dividing: a buy above the ask passes iff
//     (px - ask) x 10000 <= ask x bps, which is px <= ask + floor(ask x bps / 10000);
//   - a bucket's refill time (CRisk's full_ns, burst x 1e9 / per_second + 1) is written with
//     its limits by the driver, as crisk_set_*_limits computes it, so nothing here divides.
//
// Commands (OMNI_EV_COMMAND): OMNI_CMD_KILL (arg[0] = reason) is crisk_kill; OMNI_CMD_SET_PARAM
// writes the rule table: arg[0] = index << 16 | parameter (P_* below), arg[1] = value. An
// instrument's or strategy's limits are its P_I_* / P_S_* fields, CONFIGURED written last: that
// write is crisk_set_*_limits (the bucket full again; a strategy's recent fills forgotten).
// The driver writes only what crisk_set_* would accept (ranges are not checked here).
//
// Pipeline: the record is registered as it is taken (with price x qty); in the next clock
// every check reads the state as all records before it left it, the verdict goes into the
// output FIFO and the state is written. A verdict is taken 2 clocks after its request
// whatever it says; s_tready is low only while the FIFO could not take what is in flight.
module risk_gate #(
    parameter int INSTRUMENTS = 16, // locates 0 ..< INSTRUMENTS (crisk_config.instruments)
    parameter int STRATEGIES = 4,   // crisk_config.strategies
    parameter int ORDERS = 64,      // order slots (crisk_config.orders), a power of two
    parameter int DUP_MEMORY = 8,   // crisk_config.duplicate_memory, a power of two >= 2
    parameter int FILLS = 8,        // crisk_config.max_fills_limit, a power of two >= 2
    parameter int FIFO_DEPTH = 4
) (
    input  logic         clk,
    input  logic         rst_n,
    input  logic [511:0] s_tdata,
    input  logic [63:0]  s_now,
    input  logic         s_tvalid,
    output logic         s_tready,
    output logic [511:0] m_tdata,
    output logic         m_tvalid,
    input  logic         m_tready,
    output logic [64*17-1:0] cnt_checks, // crisk_counter(r, id) at [64*id +: 64]
    output logic [63:0]  cnt_unknown,    // crisk.unknown_answers
    output logic [63:0]  cnt_kills       // crisk.kills
);
    localparam logic [7:0] EV_BBO = 2, EV_NEW = 3, EV_CANCEL = 4, EV_REPLACE = 5, EV_FILL = 6, EV_COMMAND = 7;
    localparam logic [7:0] EV_ACCEPTED = 9, EV_REJECTED = 10, EV_CANCELED = 11, EV_REPLACED = 12, EV_CANCEL_REJECTED = 13;
    localparam logic [31:0] CMD_KILL = 2, CMD_SET_PARAM = 3;
    localparam logic [4:0] MALFORMED = 1, NOT_CONFIGURED = 2, KILL_SWITCH = 3, STRATEGY_DISABLED = 5,
        TRADING_STATE = 6, ORDER_QTY = 7, ORDER_VALUE = 8, REFERENCE = 9, COLLAR = 10, SELF_CROSS = 11,
        DUPLICATE = 12, EXPOSURE_INSTRUMENT = 13, EXPOSURE_STRATEGY = 14, RATE_INSTRUMENT = 15, RATE_STRATEGY = 16;
    localparam int CHECKS = 17;
    localparam logic [63:0] NS = 64'd1_000_000_000; // a token is NS credit units, as CRISK_NS
    // SET_PARAM parameters.
    localparam logic [15:0] P_RESET = 1, P_TRADING_STATE = 2, P_ENABLE_STRATEGY = 3, P_MAX_BBO_AGE = 4, P_DUP_WINDOW = 5,
        P_I_MAX_QTY = 16, P_I_MAX_VALUE = 17, P_I_COLLAR = 18, P_I_BURST = 19, P_I_RATE = 20, P_I_FULL_NS = 21,
        P_I_MAX_LONG = 22, P_I_MAX_SHORT = 23, P_I_CONFIGURED = 24,
        P_S_BURST = 32, P_S_RATE = 33, P_S_FULL_NS = 34, P_S_MAX_FILLS = 35, P_S_FILL_WINDOW = 36,
        P_S_MAX_LONG = 37, P_S_MAX_SHORT = 38, P_S_CONFIGURED = 39;
    localparam int LW = INSTRUMENTS > 1 ? $clog2(INSTRUMENTS) : 1;
    localparam int SW = STRATEGIES > 1 ? $clog2(STRATEGIES) : 1;
    localparam int OW = $clog2(ORDERS);
    localparam int DW = $clog2(DUP_MEMORY);
    localparam int FW = $clog2(FILLS);

    // ---- the rule table and the state, as crisk's structs (crisk.c)
    // per instrument: limits, bucket, BBO, trading state, position, working shares per side
    logic        i_conf [INSTRUMENTS];
    logic [31:0] i_max_qty [INSTRUMENTS], i_collar [INSTRUMENTS], i_burst [INSTRUMENTS], i_rate [INSTRUMENTS];
    logic [63:0] i_max_value [INSTRUMENTS], i_full [INSTRUMENTS], i_credit [INSTRUMENTS], i_last [INSTRUMENTS];
    logic signed [63:0] i_max_long [INSTRUMENTS], i_max_short [INSTRUMENTS], i_pos [INSTRUMENTS];
    logic signed [63:0] i_work [INSTRUMENTS][2];
    logic [63:0] i_bbo_ns [INSTRUMENTS];
    logic [31:0] i_bid [INSTRUMENTS], i_ask [INSTRUMENTS];
    logic        i_has_bbo [INSTRUMENTS];
    logic [7:0]  i_state [INSTRUMENTS];
    // per strategy: limits, bucket, position, working shares, duplicate ring, fill-time ring
    logic        s_conf [STRATEGIES], s_disabled [STRATEGIES];
    logic [31:0] s_burst [STRATEGIES], s_rate [STRATEGIES], s_max_fills [STRATEGIES];
    logic [63:0] s_full [STRATEGIES], s_fill_window [STRATEGIES], s_credit [STRATEGIES], s_last [STRATEGIES];
    logic signed [63:0] s_max_long [STRATEGIES], s_max_short [STRATEGIES], s_pos [STRATEGIES];
    logic signed [63:0] s_work [STRATEGIES][2];
    logic [DW-1:0] s_recent_next [STRATEGIES];
    logic [FW-1:0] s_fills_next [STRATEGIES];
    logic [FW:0]   s_fills_seen [STRATEGIES];
    logic [63:0] d_t [STRATEGIES][DUP_MEMORY];
    logic [31:0] d_px [STRATEGIES][DUP_MEMORY], d_qty [STRATEGIES][DUP_MEMORY]; // qty 0: empty
    logic [LW-1:0] d_loc [STRATEGIES][DUP_MEMORY];
    logic        d_side [STRATEGIES][DUP_MEMORY];
    logic [63:0] f_t [STRATEGIES][FILLS];
    // per order slot (the low bits of the client order id)
    logic [63:0] o_id [ORDERS];
    logic [31:0] o_px [ORDERS], o_cross [ORDERS], o_leaves [ORDERS], o_pend_qty [ORDERS], o_pend_px [ORDERS], o_counted [ORDERS];
    logic [LW-1:0] o_loc [ORDERS];
    logic [SW-1:0] o_str [ORDERS];
    logic        o_side [ORDERS], o_live [ORDERS];
    // session-wide
    logic [31:0] killed;          // kill reason; 0 = off
    logic [63:0] max_bbo_age, dup_window;
    logic [63:0] counters [CHECKS];

    // ---- stage 0: the record taken, with price x qty (it reads no state)
    logic         r_valid;
    logic [511:0] r;
    logic [63:0]  r_now, r_value;
    wire take = s_tvalid && s_tready;
    wire [63:0] in_value = {32'd0, s_tdata[351:320]} * {32'd0, s_tdata[383:352]};

    // ---- stage 1: the record's fields (order, fill, bbo and command payloads share bytes 32-63)
    /* verilator lint_off UNUSEDSIGNAL */
    wire [7:0]  ev_type = r[7:0];
    wire [15:0] ev_locate = r[31:16];
    wire [63:0] q_id = r[319:256];       // order.client_order_id = fill.client_order_id
    wire [31:0] q_px = r[351:320], q_qty = r[383:352];
    wire [15:0] q_str = r[399:384];
    wire [7:0]  q_side = r[407:400];
    wire [31:0] f_px = r[415:384], f_qty = r[447:416], f_leaves = r[479:448];
    wire [15:0] f_str = r[495:480];
    wire [7:0]  f_side = r[503:496];
    wire [31:0] b_bid = r[287:256], b_ask = r[319:288];
    wire [31:0] c_code = r[287:256];
    wire [63:0] c_arg0 = r[383:320], c_arg1 = r[447:384];
    wire [15:0] p_id = c_arg0[15:0], p_idx = c_arg0[31:16];
    /* verilator lint_on UNUSEDSIGNAL */

    wire is_new = ev_type == EV_NEW, is_cancel = ev_type == EV_CANCEL, is_replace = ev_type == EV_REPLACE;
    wire is_fill = ev_type == EV_FILL;
    wire is_answer = ev_type >= EV_ACCEPTED && ev_type <= EV_CANCEL_REJECTED;
    wire is_request = is_new || is_cancel || is_replace;
    wire [23:0] slot = q_id[23:0];
    wire slot_ok = slot < 24'(ORDERS);
    wire [OW-1:0] si = slot[OW-1:0];
    wire known = slot_ok && o_live[si] && o_id[si] == q_id; // a working order of ours with this id

    // Whose instrument, strategy and side: the order's own for a replace and for a cancel,
    // answer or fill of a working order; else the record's.
    logic [15:0] u_loc, u_str;
    logic [7:0]  u_side;
    always_comb begin
        if (known && !is_new) begin
            u_loc = 16'(o_loc[si]); u_str = 16'(o_str[si]); u_side = {7'd0, o_side[si]};
        end else begin
            u_loc = ev_locate;
            u_str = is_fill ? f_str : q_str;
            u_side = is_fill ? f_side : q_side;
        end
    end
    wire in_ok = u_loc < 16'(INSTRUMENTS), st_ok = u_str < 16'(STRATEGIES);
    wire [LW-1:0] li = u_loc[LW-1:0];
    wire [SW-1:0] sj = u_str[SW-1:0];
    wire buy = !u_side[0];
    // A fill (of a working order or not) moves positions and the throttle when its instrument,
    // strategy and side are in range; else it is counted unknown and changes nothing.
    wire fill_ok = r_valid && is_fill && in_ok && st_ok && u_side <= 1;

    // Token buckets: the level at now (bucket_level) and what spending one token leaves.
    function automatic logic [63:0] level(input logic [63:0] credit, last, full, input logic [31:0] burst, rate,
                                          input logic [63:0] now);
        logic [63:0] cap, dt, c;
        cap = {32'd0, burst} * NS;
        dt = now - last;
        c = credit + dt * {32'd0, rate}; // below full_ns this cannot overflow (crisk.c)
        if (now <= last || rate == 0) level = credit;
        else if (dt >= full) level = cap;
        else level = c < cap ? c : cap;
    endfunction
    wire [63:0] in_level = level(i_credit[li], i_last[li], i_full[li], i_burst[li], i_rate[li], r_now);
    wire [63:0] st_level = level(s_credit[sj], s_last[sj], s_full[sj], s_burst[sj], s_rate[sj], r_now);
    wire [63:0] in_spent = in_level >= NS ? in_level - NS : 64'd0;
    wire [63:0] st_spent = st_level >= NS ? st_level - NS : 64'd0;

    // ---- the checks of a new order or replace, each on its own; the first that refuses wins
    logic [CHECKS-1:0] fail;
    logic [4:0] verdict;
    logic signed [63:0] add;  // shares the request adds to its side's working shares
    always_comb begin
        logic [31:0] ref_px;
        logic [63:0] age;
        logic crosses, dup;
        fail = 0;
        fail[MALFORMED] = !slot_ok || q_px == 0 || q_qty == 0
                        || (is_replace ? !known || o_pend_qty[si] != 0 : o_live[si] || q_side > 1);
        fail[NOT_CONFIGURED] = !in_ok || !st_ok || !i_conf[li] || !s_conf[sj];
        fail[KILL_SWITCH] = killed != 0;
        fail[STRATEGY_DISABLED] = s_disabled[sj];
        fail[TRADING_STATE] = i_state[li] != 0;
        fail[ORDER_QTY] = q_qty > i_max_qty[li];
        fail[ORDER_VALUE] = r_value > i_max_value[li];
        ref_px = buy ? i_ask[li] : i_bid[li];
        age = r_now > i_bbo_ns[li] ? r_now - i_bbo_ns[li] : 64'd0;
        fail[REFERENCE] = !(i_has_bbo[li] && ref_px != 0 && age <= max_bbo_age);
        fail[COLLAR] = buy ? q_px > i_ask[li] && {32'd0, q_px - i_ask[li]} * 64'd10000 > {32'd0, i_ask[li]} * {32'd0, i_collar[li]}
                           : q_px < i_bid[li] && {32'd0, i_bid[li] - q_px} * 64'd10000 > {32'd0, i_bid[li]} * {32'd0, i_collar[li]};
        // A buy at or above our lowest working sell (none: UINT32_MAX), a sell at or below our highest buy.
        crosses = buy && q_px == 32'hFFFF_FFFF;
        for (int k = 0; k < ORDERS; k++) // the other side: o_side (1 = sell) equals buy
            if (o_live[k] && o_loc[k] == li && o_side[k] == buy)
                crosses = crosses | (buy ? o_cross[k] <= q_px : o_cross[k] >= q_px);
        fail[SELF_CROSS] = crosses;
        dup = 0;
        for (int k = 0; k < DUP_MEMORY; k++)
            dup = dup | (d_qty[sj][k] == q_qty && d_px[sj][k] == q_px && d_loc[sj][k] == li && d_side[sj][k] == !buy
                         && r_now >= d_t[sj][k] && r_now - d_t[sj][k] < dup_window);
        fail[DUPLICATE] = is_new && dup;
        add = is_new ? $signed({32'd0, q_qty})
                     : $signed({32'd0, q_qty > o_leaves[si] ? q_qty : o_leaves[si]}) - $signed({32'd0, o_counted[si]});
        fail[EXPOSURE_INSTRUMENT] = add > 0 && (buy ? i_pos[li] + i_work[li][0] + add > i_max_long[li]
                                                    : i_pos[li] - i_work[li][1] - add < -i_max_short[li]);
        fail[EXPOSURE_STRATEGY] = add > 0 && (buy ? s_pos[sj] + s_work[sj][0] + add > s_max_long[sj]
                                                  : s_pos[sj] - s_work[sj][1] - add < -s_max_short[sj]);
        fail[RATE_INSTRUMENT] = in_level < NS;
        fail[RATE_STRATEGY] = st_level < NS;
        verdict = 0;
        for (int id = CHECKS - 1; id >= 1; id--) if (fail[id]) verdict = 5'(id);
        if (is_cancel) verdict = slot_ok ? 5'd0 : MALFORMED; // cancels pass all but MALFORMED
    end
    wire passed = r_valid && is_request && verdict == 0;

    // ---- the order slot after this record: order_update's inputs, then what it derives
    logic        o_write;          // order `si` changes
    logic [31:0] n_px, n_leaves, n_pend_qty, n_pend_px, old_counted;
    logic        n_live_in;
    always_comb begin
        o_write = 0;
        n_px = o_px[si]; n_leaves = o_leaves[si]; n_pend_qty = o_pend_qty[si]; n_pend_px = o_pend_px[si];
        n_live_in = 1; old_counted = o_counted[si];
        if (passed && is_new) begin
            o_write = 1; n_px = q_px; n_leaves = q_qty; n_pend_qty = 0; n_pend_px = 0; old_counted = 0;
        end else if (passed && is_replace) begin
            o_write = 1; n_pend_qty = q_qty; n_pend_px = q_px;
        end else if (fill_ok && known) begin
            o_write = 1; n_leaves = f_leaves; n_live_in = f_leaves != 0;
        end else if (r_valid && is_answer && known) begin
            o_write = 1;
            case (ev_type)
                EV_ACCEPTED: begin n_px = q_px != 0 ? q_px : o_px[si]; n_leaves = q_qty; end
                EV_REJECTED: n_live_in = 0;
                EV_CANCELED: begin n_leaves = q_qty; n_live_in = q_qty != 0; end
                EV_REPLACED: begin n_px = q_px; n_leaves = q_qty; n_pend_qty = 0; n_live_in = q_qty != 0; end
                default:     n_pend_qty = 0; // CANCEL_REJECTED
            endcase
        end
    end
    wire [31:0] n_counted = n_live_in ? (n_leaves > n_pend_qty ? n_leaves : n_pend_qty) : 32'd0;
    wire signed [63:0] n_delta = $signed({32'd0, n_counted}) - $signed({32'd0, old_counted});
    wire [31:0] n_cross = n_pend_qty == 0 ? n_px
                        : buy ? (n_pend_px > n_px ? n_pend_px : n_px) : (n_pend_px < n_px ? n_pend_px : n_px);

    wire signed [63:0] fill_q = buy ? $signed({32'd0, f_qty}) : -$signed({32'd0, f_qty});
    wire [63:0] fill_age = r_now - f_t[sj][s_fills_next[sj]];
    wire [FW:0] fills_n = s_max_fills[sj][FW:0];
    wire unknown = r_valid && ((is_fill && (!fill_ok || !known)) || (is_answer && !known));

    wire is_param = r_valid && ev_type == EV_COMMAND && c_code == CMD_SET_PARAM;
    wire p_in = is_param && p_idx < 16'(INSTRUMENTS), p_st = is_param && p_idx < 16'(STRATEGIES);
    wire [LW-1:0] pi = p_idx[LW-1:0];
    wire [SW-1:0] ps = p_idx[SW-1:0];

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            r_valid <= 0;
            killed <= 0; max_bbo_age <= 0; dup_window <= 0; cnt_unknown <= 0; cnt_kills <= 0;
            for (int k = 0; k < CHECKS; k++) counters[k] <= 0;
            for (int k = 0; k < INSTRUMENTS; k++) begin
                i_conf[k] <= 0; i_max_qty[k] <= 0; i_max_value[k] <= 0; i_collar[k] <= 0; i_burst[k] <= 0; i_rate[k] <= 0;
                i_full[k] <= 0; i_max_long[k] <= 0; i_max_short[k] <= 0; i_credit[k] <= 0; i_last[k] <= 0;
                i_bbo_ns[k] <= 0; i_bid[k] <= 0; i_ask[k] <= 0; i_has_bbo[k] <= 0; i_state[k] <= 0; i_pos[k] <= 0;
                i_work[k][0] <= 0; i_work[k][1] <= 0;
            end
            for (int k = 0; k < STRATEGIES; k++) begin
                s_conf[k] <= 0; s_disabled[k] <= 0; s_burst[k] <= 0; s_rate[k] <= 0; s_max_fills[k] <= 0; s_full[k] <= 0;
                s_fill_window[k] <= 0; s_credit[k] <= 0; s_last[k] <= 0; s_max_long[k] <= 0; s_max_short[k] <= 0;
                s_pos[k] <= 0; s_work[k][0] <= 0; s_work[k][1] <= 0;
                s_recent_next[k] <= 0; s_fills_next[k] <= 0; s_fills_seen[k] <= 0;
                for (int m = 0; m < DUP_MEMORY; m++) begin
                    d_t[k][m] <= 0; d_px[k][m] <= 0; d_qty[k][m] <= 0; d_loc[k][m] <= 0; d_side[k][m] <= 0;
                end
                for (int m = 0; m < FILLS; m++) f_t[k][m] <= 0;
            end
            for (int k = 0; k < ORDERS; k++) begin
                o_id[k] <= 0; o_px[k] <= 0; o_cross[k] <= 0; o_leaves[k] <= 0; o_pend_qty[k] <= 0; o_pend_px[k] <= 0;
                o_counted[k] <= 0; o_loc[k] <= 0; o_str[k] <= 0; o_side[k] <= 0; o_live[k] <= 0;
            end
        end else begin
            r_valid <= take;
            if (take) begin r <= s_tdata; r_now <= s_now; r_value <= in_value; end

            if (r_valid && is_request) counters[verdict] <= counters[verdict] + 1;
            if (unknown) cnt_unknown <= cnt_unknown + 1;

            // Tokens: a passed request spends one from each of its buckets; a cancel from each that
            // names an instrument / strategy in range (bucket_spend, never below 0).
            if (passed && in_ok) begin
                i_credit[li] <= in_spent;
                if (r_now > i_last[li]) i_last[li] <= r_now;
            end
            if (passed && st_ok) begin
                s_credit[sj] <= st_spent;
                if (r_now > s_last[sj]) s_last[sj] <= r_now;
            end
            if (passed && is_new) begin // dup_remember: in place of the strategy's oldest
                d_t[sj][s_recent_next[sj]] <= r_now; d_px[sj][s_recent_next[sj]] <= q_px; d_qty[sj][s_recent_next[sj]] <= q_qty;
                d_loc[sj][s_recent_next[sj]] <= li; d_side[sj][s_recent_next[sj]] <= !buy;
                s_recent_next[sj] <= s_recent_next[sj] + 1;
                o_id[si] <= q_id; o_loc[si] <= li; o_str[si] <= sj; o_side[si] <= !buy;
            end

            // order_update: the slot, and its shares in its instrument's and strategy's working sums.
            if (o_write) begin
                o_px[si] <= n_px; o_leaves[si] <= n_leaves; o_pend_qty[si] <= n_pend_qty; o_pend_px[si] <= n_pend_px;
                o_counted[si] <= n_counted; o_cross[si] <= n_cross; o_live[si] <= n_live_in && n_counted != 0;
                i_work[li][u_side[0]] <= i_work[li][u_side[0]] + n_delta;
                s_work[sj][u_side[0]] <= s_work[sj][u_side[0]] + n_delta;
            end

            if (r_valid && ev_type == EV_BBO && ev_locate < 16'(INSTRUMENTS)) begin
                i_bid[ev_locate[LW-1:0]] <= b_bid; i_ask[ev_locate[LW-1:0]] <= b_ask;
                i_bbo_ns[ev_locate[LW-1:0]] <= r_now; i_has_bbo[ev_locate[LW-1:0]] <= 1;
            end

            if (fill_ok) begin // positions, then note_fill: more than max_fills within the window disables
                s_pos[sj] <= s_pos[sj] + fill_q;
                i_pos[li] <= i_pos[li] + fill_q;
                if (fills_n == 0) s_disabled[sj] <= 1;
                else begin
                    if (s_fills_seen[sj] == fills_n && fill_age < s_fill_window[sj]) s_disabled[sj] <= 1;
                    f_t[sj][s_fills_next[sj]] <= r_now;
                    s_fills_next[sj] <= {1'b0, s_fills_next[sj]} + 1 == fills_n ? 0 : s_fills_next[sj] + 1;
                    if (s_fills_seen[sj] < fills_n) s_fills_seen[sj] <= s_fills_seen[sj] + 1;
                end
            end

            if (r_valid && ev_type == EV_COMMAND && c_code == CMD_KILL) begin
                if (killed == 0) cnt_kills <= cnt_kills + 1;
                killed <= c_arg0[31:0] != 0 ? c_arg0[31:0] : 32'd1;
            end
            if (is_param) case (p_id)
                P_RESET: killed <= 0;
                P_TRADING_STATE: if (p_in && c_arg1 <= 3) i_state[pi] <= c_arg1[7:0];
                P_ENABLE_STRATEGY: if (p_st) begin s_disabled[ps] <= 0; s_fills_next[ps] <= 0; s_fills_seen[ps] <= 0; end
                P_MAX_BBO_AGE: max_bbo_age <= c_arg1;
                P_DUP_WINDOW: dup_window <= c_arg1;
                P_I_MAX_QTY: if (p_in) i_max_qty[pi] <= c_arg1[31:0];
                P_I_MAX_VALUE: if (p_in) i_max_value[pi] <= c_arg1;
                P_I_COLLAR: if (p_in) i_collar[pi] <= c_arg1[31:0];
                P_I_BURST: if (p_in) i_burst[pi] <= c_arg1[31:0];
                P_I_RATE: if (p_in) i_rate[pi] <= c_arg1[31:0];
                P_I_FULL_NS: if (p_in) i_full[pi] <= c_arg1;
                P_I_MAX_LONG: if (p_in) i_max_long[pi] <= c_arg1;
                P_I_MAX_SHORT: if (p_in) i_max_short[pi] <= c_arg1;
                P_I_CONFIGURED: if (p_in) begin
                    i_conf[pi] <= c_arg1[0]; i_credit[pi] <= {32'd0, i_burst[pi]} * NS; i_last[pi] <= 0;
                end
                P_S_BURST: if (p_st) s_burst[ps] <= c_arg1[31:0];
                P_S_RATE: if (p_st) s_rate[ps] <= c_arg1[31:0];
                P_S_FULL_NS: if (p_st) s_full[ps] <= c_arg1;
                P_S_MAX_FILLS: if (p_st) s_max_fills[ps] <= c_arg1[31:0];
                P_S_FILL_WINDOW: if (p_st) s_fill_window[ps] <= c_arg1;
                P_S_MAX_LONG: if (p_st) s_max_long[ps] <= c_arg1;
                P_S_MAX_SHORT: if (p_st) s_max_short[ps] <= c_arg1;
                P_S_CONFIGURED: if (p_st) begin
                    s_conf[ps] <= c_arg1[0]; s_credit[ps] <= {32'd0, s_burst[ps]} * NS; s_last[ps] <= 0;
                    s_fills_next[ps] <= 0; s_fills_seen[ps] <= 0;
                end
                default: ;
            endcase
        end
    end

    // ---- the verdicts, in order: the request with order.reason set, through the FIFO
    localparam int AW = $clog2(FIFO_DEPTH);
    logic [511:0] fifo [0:FIFO_DEPTH-1];
    logic [AW-1:0] wr, rd;
    logic [AW:0]   used;
    wire push = r_valid && is_request;
    wire pop = m_tvalid && m_tready;
    // Room for the record in stage 1 (it may be a request) and one more.
    assign s_tready = {{(31 - AW){1'b0}}, used} + {31'd0, r_valid} < FIFO_DEPTH;

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            wr <= 0; rd <= 0; used <= 0;
        end else begin
            if (push) begin
                fifo[wr] <= {r[511:432], verdict == 0 ? 16'd0 : {8'h03, 3'd0, verdict}, r[415:0]}; // OMNI_REASON_RISK | id
                wr <= wr + 1;
            end
            if (pop) rd <= rd + 1;
            used <= used + {{AW{1'b0}}, push} - {{AW{1'b0}}, pop};
        end
    end
    assign m_tvalid = used != 0;
    assign m_tdata = fifo[rd];
    always_comb for (int k = 0; k < CHECKS; k++) cnt_checks[64*k +: 64] = counters[k];
endmodule
