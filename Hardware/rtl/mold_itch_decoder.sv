// MoldUDP64 + ITCH 5.0 decoder: MoldUDP64 packets (UDP payloads) in on a 64-bit AXI-Stream,
// one omni_event record (CEvent ABI v2, OMNI_EV_ITCH) out per well-formed ITCH message.
// The software reference is CWire's cw_mold_events (cw_mold_events.h): same rules, same
// bytes, the timing fields aside (hop[] is zero; rx_tsc is this kernel's cycle counter at
// the packet's first beat).
//
// Input: byte k of a beat is s_tdata[8k+7:8k]; s_tkeep is all ones except on a packet's
// last beat (s_tlast), where it keeps lanes 0..n-1, n >= 1. Packets are at most 65,535
// bytes (a UDP payload). Output: byte k of the 64-byte record is m_tdata[8k+7:8k].
//
// Pipeline, one beat per clock: stage 0 walks the beat (header bytes, block length prefixes,
// message bytes) and registers the one record a beat can complete (a well-formed block takes
// at least 14 bytes, so no beat ends two); stage 1 adds the packet's stream offset and
// sequence number and writes the record to the output FIFO. A record is valid two clocks
// after the beat holding the message's last byte is taken. s_tready is low while the FIFO
// cannot take what the pipeline may still hold, and while a beat is held: in one clock stage
// 0 walks the end of the block in progress and at most one block that begins in the beat;
// when that one is at most 7 bytes long (never well-formed: an ITCH message has 12 or more)
// and another block begins after it in the same beat, the beat is held and walked on from
// there in the next clock. Well-formed traffic is never held.
module mold_itch_decoder #(
    parameter int FIFO_DEPTH = 4
) (
    input  logic         clk,
    input  logic         rst_n,
    input  logic [15:0]  cfg_source,      // omni_event.source of every record
    input  logic [63:0]  s_tdata,
    input  logic [7:0]   s_tkeep,
    input  logic         s_tlast,
    input  logic         s_tvalid,
    output logic         s_tready,
    output logic [511:0] m_tdata,
    output logic         m_tvalid,
    input  logic         m_tready,
    // cw_mold_event_counts, field for field; a beat's counts are in two clocks after it is taken
    output logic [63:0]  cnt_packets,
    output logic [63:0]  cnt_heartbeats,
    output logic [63:0]  cnt_end_of_session,
    output logic [63:0]  cnt_messages,
    output logic [63:0]  cnt_malformed,
    output logic [63:0]  cnt_truncated,
    output logic [63:0]  cnt_trailing
);
    localparam logic [7:0] EV_ITCH = 8'd8;           // OMNI_EV_ITCH
    localparam logic [7:0] EVF_LAST_IN_PACKET = 8'd1; // OMNI_EVF_LAST_IN_PACKET

    // ITCH 5.0 length of each message type, as cw_itch_len_table; 0 = not a type.
    function automatic logic [5:0] itch_len(input logic [7:0] t);
        case (t)
            "S": itch_len = 12; "R": itch_len = 39; "H": itch_len = 25; "Y": itch_len = 20;
            "L": itch_len = 26; "V": itch_len = 35; "W": itch_len = 12; "K": itch_len = 28;
            "J": itch_len = 35; "h": itch_len = 21; "A": itch_len = 36; "F": itch_len = 40;
            "E": itch_len = 31; "C": itch_len = 36; "X": itch_len = 23; "D": itch_len = 19;
            "U": itch_len = 35; "P": itch_len = 44; "Q": itch_len = 40; "B": itch_len = 19;
            "I": itch_len = 50; "N": itch_len = 20; "O": itch_len = 48;
            default: itch_len = 0;
        endcase
    endfunction

    // Where the walk of a packet is: in its 20-byte header, in a block's length prefix or
    // message, or past the last promised block (trailing bytes, heartbeat, end of session).
    typedef enum logic [2:0] { HDR, LEN_HI, LEN_LO, BODY, REST } phase_t;

    // ---- stage 0 state: where the walk stands at the first lane of the next beat walked.
    // phase is left as it is written: yosys's FSM extraction of it only spends minutes.
    (* fsm_encoding = "none" *) phase_t phase;
    logic [15:0] pos;        // packet offset of lane 0 of the next beat (beats are 8-byte aligned)
    logic [63:0] seq0;       // the header's sequence number
    logic [15:0] idx;        // index of the block being walked
    logic [15:0] left;       // promised blocks after it
    logic [7:0]  hi;         // lane 7 of the last beat: a length's high byte when phase is LEN_LO
    logic [15:0] len;        // the block's length
    logic [15:0] rem;        // its message bytes not yet seen (phase BODY)
    logic [1:0]  seen;       // its message bytes seen, counted up to 3 (type, locate)
    logic [15:0] start;      // packet offset of its message's first byte
    logic [7:0]  mtype;      // its type byte
    logic [15:0] locate;     // its bytes 1-2
    logic        len_ok;     // its length is its type's (0 until its type byte is seen)
    logic        trail;      // a byte came after the last promised block
    logic [63:0] base;       // stream offset of the packet's first byte
    logic [63:0] cycle;      // free-running: the rx_tsc of this kernel
    logic [63:0] pkt_tsc;    // cycle of the packet's first beat
    // A beat whose walk stopped at a second block boundary, held for the next clock.
    logic        held;
    logic [63:0] held_data;
    logic [7:0]  held_keep;
    logic        held_last;
    logic [7:0]  resume;     // one-hot: the lane its walk resumes at (phase LEN_HI); else lane 0

    // ---- stage 0 -> 1: the record completed by the last beat walked, if any
    logic        r0_valid;
    logic        r0_last;
    logic [15:0] r0_locate, r0_idx, r0_start, r0_len;
    logic [7:0]  r0_type;
    logic [63:0] r0_seq0, r0_base, r0_tsc;
    logic [1:0]  r0_malformed;      // the beat's counts, added to the counters a clock later
    logic        r0_heartbeat, r0_eos, r0_packet, r0_truncated, r0_trailing;

    wire take = s_tvalid && s_tready;
    wire go = take || held;         // a beat is walked in this clock
    wire [63:0] data = held ? held_data : s_tdata;
    wire [7:0]  keep = held ? held_keep : s_tkeep;
    wire        last = held ? held_last : s_tlast;

    // ---- stage 0, first what any lane may need, from the data alone and in parallel; one-hot
    // lane vectors then pick among them with AND-OR, never lane after lane.
    logic [7:0]  b [0:7];    // the beat's bytes
    logic [15:0] L [0:7];    // the block length if lane j is a length's low byte
    logic [7:0]  E [0:7];    // E[j][m]: that block's message ends at lane m of this beat
    logic [7:0]  Z;          // Z[j]: that length is 0
    logic [7:0]  TOK;        // TOK[j]: lane j as a type byte matches its block's length
    logic [15:0] RN [0:7];   // message bytes left after this beat of a block whose length ends at lane j
    logic [15:0] S [0:7];    // packet offset of lane j + 1
    logic [7:0]  R;          // R[m]: the block in progress ends at lane m
    logic        hdr_done;   // this beat completes the header (packet offset 16, lanes 2-3: count)
    logic [15:0] count_now;
    logic [1:0]  LE;         // LE[n]: the n-th block ending in this beat is the last promised
    logic [15:0] idx_base, left_base;
    always_comb begin
        for (int j = 0; j < 8; j++) b[j] = data[8*j +: 8];
        for (int j = 0; j < 8; j++) begin
            L[j] = j == 0 ? {hi, b[0]} : {b[j-1], b[j]};
            Z[j] = L[j] == 0;
            for (int m = 0; m < 8; m++) E[j][m] = m > j && L[j] == 16'(m - j);
            TOK[j] = {10'd0, itch_len(b[j])} == (j == 0 ? len : L[j-1]);
            RN[j] = L[j] + 16'(j) - 16'd7;
            S[j] = pos + 16'(j + 1);
            R[j] = rem == 16'(j + 1);
        end
        hdr_done = phase == HDR && pos[4] && keep[3]; // in the header pos is 0, 8 or 16
        count_now = {b[2], b[3]};
        idx_base = hdr_done ? 16'd0 : idx;
        left_base = hdr_done ? count_now - 16'd1 : left;
        for (int n = 0; n < 2; n++) LE[n] = hdr_done ? count_now == 16'(n + 1) : left == 16'(n);
    end

    // Lanes after the one-hot lane x.
    function automatic logic [7:0] after(input logic [7:0] x);
        after = 0;
        for (int j = 1; j < 8; j++) after[j] = after[j-1] | x[j-1];
    endfunction

    // ---- stage 0, the walk: the block in progress (registered) may end; then at most one
    // block (fresh) may begin and, if it is at most 7 bytes long, end; a block after that
    // stops the walk there (the beat is held).
    logic       hb, eos;                 // this beat's header is a heartbeat / end of session
    logic [7:0] reg_end;                 // one-hot: the lane where the block in progress ends
    logic       reg_done, reg_last;
    logic [7:0] st, lo;                  // one-hot: the fresh block's length, high and low byte
    logic       lo_in;                   // its length is whole in this beat
    logic [7:0] fr_end;                   // one-hot: the lane where it ends (0: it does not)
    logic       fr_done, fr_last, fr_cont;
    logic [7:0] next;                    // one-hot: a third block's length starts here
    logic       stop, fin;               // the walk stops at `next`; the beat is walked to its end
    logic [7:0] rest_after;              // lanes past the last promised block
    phase_t     n_phase;
    logic       e_valid;
    logic [1:0] e_malformed;
    always_comb begin
        logic [7:0] fe;
        hb = hdr_done && count_now == 16'h0000;
        eos = hdr_done && count_now == 16'hFFFF;
        reg_end = phase == BODY ? R & keep : 8'd0;
        reg_done = |reg_end;
        reg_last = reg_done && LE[0];
        st = phase == LEN_HI ? resume
           : hdr_done && !hb && !eos ? 8'b0001_0000
           : reg_done && !reg_last ? reg_end << 1 : 8'd0;
        lo = phase == LEN_LO ? 8'b0000_0001 : (st & keep) << 1;
        lo_in = |(lo & keep);
        fe = 0;
        for (int j = 0; j < 8; j++) if (lo[j]) fe = fe | (Z[j] ? lo : E[j]);
        fr_end = lo_in ? fe & keep : 8'd0;
        fr_done = |fr_end;
        fr_cont = lo_in && !fr_done;
        fr_last = fr_done && (reg_done ? LE[1] : LE[0]);
        next = fr_done && !fr_last ? fr_end << 1 : 8'd0;
        stop = |(next & keep);
        fin = !stop;
        rest_after = phase == REST ? 8'hFF
                   : hb || eos ? 8'hF0
                   : reg_last ? after(reg_end)
                   : fr_last ? after(fr_end) : 8'd0;
        if (phase == REST || hb || eos || reg_last || fr_last) n_phase = REST;
        else if (fr_cont) n_phase = BODY;
        else if (fr_done) n_phase = LEN_HI;
        else if (phase == BODY && !reg_done) n_phase = BODY;
        else if (|(st & keep)) n_phase = LEN_LO;   // the length's high byte is the beat's last
        else if (phase == HDR && !hdr_done) n_phase = HDR;
        else n_phase = LEN_HI;
        e_valid = reg_done && len_ok;
        e_malformed = {1'b0, reg_done && !len_ok} + {1'b0, fr_done};
    end

    // Bytes in this beat: keep holds lanes 0..n-1.
    logic [3:0] beat_bytes;
    always_comb begin
        beat_bytes = 0;
        for (int i = 0; i < 8; i++) if (keep[i]) beat_bytes = 4'(i + 1);
    end

    // The fresh block's fields when it runs past this beat, by AND-OR over its one-hot lanes.
    logic [15:0] fr_len, fr_start, fr_rem, fr_locate;
    logic [7:0]  fr_type;
    logic        fr_ok;
    logic [1:0]  fr_seen;
    always_comb begin
        fr_len = 0; fr_start = 0; fr_rem = 0; fr_type = 0; fr_ok = 0; fr_locate = 0;
        for (int j = 0; j < 8; j++) if (lo[j]) begin
            fr_len = fr_len | L[j]; fr_start = fr_start | S[j]; fr_rem = fr_rem | RN[j];
            if (j < 7) begin fr_type = fr_type | b[j+1]; fr_ok = fr_ok | TOK[j+1]; end
            if (j < 6) fr_locate[15:8] = fr_locate[15:8] | b[j+2];
            if (j < 5) fr_locate[7:0] = fr_locate[7:0] | b[j+3];
        end
        fr_seen = lo[7] ? 2'd0 : lo[6] ? 2'd1 : lo[5] ? 2'd2 : 2'd3;
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            phase <= HDR; pos <= 0; seq0 <= 0; idx <= 0; left <= 0; hi <= 0; len <= 0; rem <= 0; seen <= 0;
            start <= 0; mtype <= 0; locate <= 0; len_ok <= 0; trail <= 0; base <= 0; cycle <= 0; pkt_tsc <= 0;
            held <= 0; held_data <= 0; held_keep <= 0; held_last <= 0; resume <= 8'b1;
            r0_valid <= 0; r0_malformed <= 0; r0_heartbeat <= 0; r0_eos <= 0;
            r0_packet <= 0; r0_truncated <= 0; r0_trailing <= 0;
            cnt_packets <= 0; cnt_heartbeats <= 0; cnt_end_of_session <= 0; cnt_messages <= 0;
            cnt_malformed <= 0; cnt_truncated <= 0; cnt_trailing <= 0;
        end else begin
            cycle <= cycle + 1;
            r0_valid <= go && e_valid;
            r0_malformed <= go ? e_malformed : 2'd0;
            r0_heartbeat <= go && hb;
            r0_eos <= go && eos;
            r0_packet <= go && fin && last;
            r0_truncated <= go && fin && last && n_phase != REST;
            r0_trailing <= go && fin && last && n_phase == REST && (trail || |(rest_after & keep));
            cnt_messages <= cnt_messages + {63'd0, r0_valid};
            cnt_malformed <= cnt_malformed + {62'd0, r0_malformed};
            cnt_heartbeats <= cnt_heartbeats + {63'd0, r0_heartbeat};
            cnt_end_of_session <= cnt_end_of_session + {63'd0, r0_eos};
            cnt_packets <= cnt_packets + {63'd0, r0_packet};
            cnt_truncated <= cnt_truncated + {63'd0, r0_truncated};
            cnt_trailing <= cnt_trailing + {63'd0, r0_trailing};
            if (go) begin
                if (phase == HDR && pos == 0) pkt_tsc <= cycle;
                if (phase == HDR && pos == 8) seq0[63:16] <= {b[2], b[3], b[4], b[5], b[6], b[7]};
                if (phase == HDR && pos == 16) seq0[15:0] <= {b[0], b[1]};
                // The record ending here is the block in progress: every field is registered.
                r0_last <= reg_last; r0_locate <= locate; r0_type <= mtype; r0_start <= start; r0_len <= len;
                r0_idx <= idx; r0_seq0 <= seq0; r0_base <= base;
                r0_tsc <= phase == HDR && pos == 0 ? cycle : pkt_tsc;
                idx <= idx_base + {15'd0, reg_done} + {15'd0, fr_done};
                left <= left_base - {15'd0, reg_done} - {15'd0, fr_done};
                if (fr_cont) begin
                    len <= fr_len; start <= fr_start; rem <= fr_rem; seen <= fr_seen; mtype <= fr_type;
                    len_ok <= fr_ok; locate <= fr_locate;
                end else if (phase == BODY) begin
                    rem <= rem - 16'd8;
                    seen <= 2'd3;
                    if (seen == 0) begin mtype <= b[0]; len_ok <= TOK[0]; locate <= {b[1], b[2]}; end
                    if (seen == 1) locate <= {b[0], b[1]};
                    if (seen == 2) locate[7:0] <= b[0];
                end
                if (n_phase == LEN_LO) hi <= b[7];
                if (fin) begin
                    held <= 0; resume <= 8'b1;
                    if (last) begin
                        phase <= HDR; pos <= 0; trail <= 0;
                        base <= base + {48'd0, pos} + {60'd0, beat_bytes};
                    end else begin
                        phase <= n_phase; pos <= pos + 16'd8; trail <= trail || |(rest_after & keep);
                    end
                end else begin
                    held <= 1; held_data <= data; held_keep <= keep; held_last <= last; resume <= next;
                    phase <= LEN_HI;
                end
            end
        end
    end

    // ---- stage 1: the record's 64-bit fields, into the FIFO. An entry keeps only the
    // fields that are not constant; the zero bytes are put back on the way out.
    localparam int EW = 1 + 16 + 64 + 64 + 64 + 16 + 8;
    localparam int AW = $clog2(FIFO_DEPTH);
    logic [EW-1:0] fifo [0:FIFO_DEPTH-1];
    logic [AW-1:0] wr, rd;
    logic [AW:0]   used;

    wire pop = m_tvalid && m_tready;
    // Room for the record in stage 0 and for one the beat now offered may complete; none
    // while a beat is held.
    assign s_tready = !held && {{(31 - AW){1'b0}}, used} + {31'd0, r0_valid} < FIFO_DEPTH;

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            wr <= 0; rd <= 0; used <= 0;
        end else begin
            if (r0_valid) begin
                fifo[wr] <= {r0_last, r0_locate, r0_seq0 + {48'd0, r0_idx}, r0_tsc,
                             r0_base + {48'd0, r0_start}, r0_len, r0_type};
                wr <= wr + 1;
            end
            if (pop) rd <= rd + 1;
            used <= used + {{AW{1'b0}}, r0_valid} - {{AW{1'b0}}, pop};
        end
    end

    logic        f_last;
    logic [15:0] f_locate, f_len;
    logic [63:0] f_seq, f_tsc, f_offset;
    logic [7:0]  f_type;
    assign {f_last, f_locate, f_seq, f_tsc, f_offset, f_len, f_type} = fifo[rd];
    assign m_tvalid = used != 0;
    //              reserved  msg_type  length  offset    rx_tsc  seq    hop[5]  source      locate    flags                             type
    assign m_tdata = {168'd0, f_type, f_len, f_offset, f_tsc, f_seq, 80'd0, cfg_source, f_locate, f_last ? EVF_LAST_IN_PACKET : 8'd0, EV_ITCH};
endmodule
