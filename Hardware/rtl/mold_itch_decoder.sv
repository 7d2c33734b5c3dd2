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
// Pipeline, one beat per clock: stage 0 walks the beat's 8 lanes (header bytes, block length
// prefixes, message bytes) and registers the one record a beat can complete (a well-formed
// block takes at least 14 bytes, so no beat ends two); stage 1 adds the packet's stream
// offset and sequence number and writes the record to the output FIFO. A record is valid
// two clocks after the beat holding the message's last byte is taken. s_tready is low only
// while the FIFO cannot take what the pipeline may still hold.
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

    // Where the walk of a packet is at a lane: in its 20-byte header, in a block's length
    // prefix or message, or past the last promised block (trailing bytes, heartbeat, end of session).
    typedef enum logic [2:0] { HDR, LEN_HI, LEN_LO, BODY, REST } phase_t;

    // ---- stage 0 state: where the walk stands at lane 0 of the next beat. phase is left as it
    // is written: yosys's FSM extraction of it only spends minutes re-encoding three bits.
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
    logic        len_ok;     // its length is its type's
    logic        trail;      // a byte came after the last promised block
    logic [63:0] base;       // stream offset of the packet's first byte
    logic [63:0] cycle;      // free-running: the rx_tsc of this kernel
    logic [63:0] pkt_tsc;    // cycle of the packet's first beat

    // ---- stage 0 -> 1: the record completed by the last beat taken, if any
    logic        r0_valid;
    logic        r0_last;
    logic [15:0] r0_locate, r0_idx, r0_start, r0_len;
    logic [2:0]  r0_n;
    logic [7:0]  r0_type;
    logic [63:0] r0_seq0, r0_base, r0_tsc;
    logic [2:0]  r0_malformed;      // the beat's counts, added to the counters a clock later
    logic        r0_heartbeat, r0_eos, r0_packet, r0_truncated, r0_trailing;

    wire take = s_tvalid && s_tready;

    // ---- stage 0, first everything a lane may need, from the data alone (in parallel): the
    // walk below then only chooses among them, so the lane-to-lane chain is a few bits wide.
    logic [7:0]  b [0:7];    // the beat's bytes
    logic [15:0] L [0:7];    // the block length if lane j is a length's low byte
    logic [7:0]  E [0:7];    // E[j][m]: that block's message ends at lane m of this beat
    logic [7:0]  Z;          // Z[j]: that length is 0
    logic [7:0]  TOK;        // TOK[j]: lane j as a type byte matches its block's length
    logic [15:0] RN [0:7];   // message bytes left after this beat of a block whose length ends at lane j
    logic [15:0] S [0:7];    // packet offset of lane j + 1
    logic [7:0]  R;          // R[m]: the block of the last beat ends at lane m
    logic        hdr_done;   // this beat completes the header (packet offset 16, lanes 2-3: count)
    logic [15:0] count_now;
    logic [3:0]  LE;         // LE[n]: the n-th block ending in this beat is the last promised
    logic [15:0] idx_base, left_base;
    always_comb begin
        for (int j = 0; j < 8; j++) b[j] = s_tdata[8*j +: 8];
        for (int j = 0; j < 8; j++) begin
            L[j] = j == 0 ? {hi, b[0]} : {b[j-1], b[j]};
            Z[j] = L[j] == 0;
            for (int m = 0; m < 8; m++) E[j][m] = m > j && L[j] == 16'(m - j);
            TOK[j] = {10'd0, itch_len(b[j])} == (j == 0 ? len : L[j-1]);
            RN[j] = L[j] + 16'(j) - 16'd7;
            S[j] = pos + 16'(j + 1);
            R[j] = rem == 16'(j + 1);
        end
        hdr_done = phase == HDR && pos[4] && s_tkeep[3]; // in the header pos is 0, 8 or 16
        count_now = {b[2], b[3]};
        idx_base = hdr_done ? 16'd0 : idx;
        left_base = hdr_done ? count_now - 16'd1 : left;
        for (int n = 0; n < 4; n++) LE[n] = hdr_done ? count_now == 16'(n + 1) : left == 16'(n);
    end

    // ---- stage 0, the walk: lane by lane, over the choices above
    phase_t      n_phase;
    logic [2:0]  n_ends;            // blocks ended in this beat
    logic        n_fresh;           // the block at the end of the beat began in it, its length's low byte at lane n_lo
    logic [2:0]  n_lo;
    logic [1:0]  n_seen;
    logic [7:0]  n_type;
    logic [15:0] n_locate;
    logic        n_len_ok, n_trail;
    logic        e_valid, e_last;   // a well-formed message ended in this beat (at most one does)
    logic        e_fresh;           // it began in this beat, its length's low byte at lane e_lo
    logic [2:0]  e_lo, e_n;         // e_n: blocks that ended before it in this beat
    logic [15:0] e_locate;
    logic [7:0]  e_type;
    logic [2:0]  e_malformed;       // blocks dropped in this beat (at most 4: 2-byte empty blocks)
    logic        e_heartbeat, e_eos;

    always_comb begin : walk
        logic [7:0] mask;           // lanes where the current block's message ends
        logic       done, last;
        done = 0; last = 0;
        n_phase = phase; n_ends = 0; n_fresh = 0; n_lo = 0; n_seen = seen; n_type = mtype; n_locate = locate;
        n_len_ok = len_ok; n_trail = trail; mask = R;
        e_valid = 0; e_last = 0; e_fresh = 0; e_lo = 0; e_n = 0; e_locate = 0; e_type = 0; e_malformed = 0;
        e_heartbeat = hdr_done && count_now == 16'h0000;
        e_eos = hdr_done && count_now == 16'hFFFF;
        if (hdr_done) n_phase = e_heartbeat || e_eos ? REST : LEN_HI; // the first block's length is at lane 4
        for (int j = 0; j < 8; j++) begin
            done = 0;
            if (s_tkeep[j] && (phase != HDR || hdr_done && j >= 4)) begin
                case (n_phase)
                    LEN_HI: n_phase = LEN_LO;
                    LEN_LO: begin
                        n_fresh = 1; n_lo = 3'(j);
                        if (Z[j]) done = 1;
                        else begin n_phase = BODY; mask = E[j]; n_seen = 0; end
                    end
                    BODY: begin
                        if (n_seen == 0) begin n_type = b[j]; n_len_ok = TOK[j]; end
                        if (n_seen == 1) n_locate[15:8] = b[j];
                        if (n_seen == 2) n_locate[7:0] = b[j];
                        if (n_seen != 3) n_seen = n_seen + 1;
                        done = mask[j];
                    end
                    REST: n_trail = 1;
                    default: ;
                endcase
                if (done) begin
                    last = LE[n_ends[1:0]];
                    if (n_phase == BODY && n_len_ok) begin
                        e_valid = 1; e_last = last; e_fresh = n_fresh; e_lo = n_lo; e_n = n_ends;
                        e_locate = n_locate; e_type = n_type;
                    end else e_malformed = e_malformed + 1;
                    n_ends = n_ends + 1;
                    n_phase = last ? REST : LEN_HI;
                end
            end
        end
    end

    // Bytes in this beat: s_tkeep keeps lanes 0..n-1.
    logic [3:0] beat_bytes;
    always_comb begin
        beat_bytes = 0;
        for (int i = 0; i < 8; i++) if (s_tkeep[i]) beat_bytes = 4'(i + 1);
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            phase <= HDR; pos <= 0; seq0 <= 0; idx <= 0; left <= 0; hi <= 0; len <= 0; rem <= 0; seen <= 0;
            start <= 0; mtype <= 0; locate <= 0; len_ok <= 0; trail <= 0; base <= 0; cycle <= 0; pkt_tsc <= 0;
            r0_valid <= 0; r0_malformed <= 0; r0_heartbeat <= 0; r0_eos <= 0;
            r0_packet <= 0; r0_truncated <= 0; r0_trailing <= 0;
            cnt_packets <= 0; cnt_heartbeats <= 0; cnt_end_of_session <= 0; cnt_messages <= 0;
            cnt_malformed <= 0; cnt_truncated <= 0; cnt_trailing <= 0;
        end else begin
            cycle <= cycle + 1;
            r0_valid <= take && e_valid;
            r0_malformed <= take ? e_malformed : 3'd0;
            r0_heartbeat <= take && e_heartbeat;
            r0_eos <= take && e_eos;
            r0_packet <= take && s_tlast;
            r0_truncated <= take && s_tlast && n_phase != REST;
            r0_trailing <= take && s_tlast && n_phase == REST && n_trail;
            cnt_messages <= cnt_messages + {63'd0, r0_valid};
            cnt_malformed <= cnt_malformed + {61'd0, r0_malformed};
            cnt_heartbeats <= cnt_heartbeats + {63'd0, r0_heartbeat};
            cnt_end_of_session <= cnt_end_of_session + {63'd0, r0_eos};
            cnt_packets <= cnt_packets + {63'd0, r0_packet};
            cnt_truncated <= cnt_truncated + {63'd0, r0_truncated};
            cnt_trailing <= cnt_trailing + {63'd0, r0_trailing};
            if (take) begin
                if (phase == HDR && pos == 0) pkt_tsc <= cycle;
                if (phase == HDR && pos == 8) seq0[63:16] <= {b[2], b[3], b[4], b[5], b[6], b[7]};
                if (phase == HDR && pos == 16) seq0[15:0] <= {b[0], b[1]};
                r0_last <= e_last; r0_locate <= e_locate; r0_type <= e_type;
                r0_start <= e_fresh ? S[e_lo] : start;
                r0_len <= e_fresh ? L[e_lo] : len;
                r0_idx <= idx_base; r0_n <= e_n;
                r0_seq0 <= phase == HDR && pos == 16 ? {seq0[63:16], b[0], b[1]} : seq0;
                r0_base <= base;
                r0_tsc <= phase == HDR && pos == 0 ? cycle : pkt_tsc;
                idx <= idx_base + {13'd0, n_ends};
                left <= left_base - {13'd0, n_ends};
                hi <= b[7];
                if (n_fresh) begin len <= L[n_lo]; start <= S[n_lo]; rem <= RN[n_lo]; end
                else rem <= rem - 16'd8;
                seen <= n_seen; mtype <= n_type; locate <= n_locate; len_ok <= n_len_ok;
                if (s_tlast) begin
                    phase <= HDR; pos <= 0; trail <= 0;
                    base <= base + {48'd0, pos} + {60'd0, beat_bytes};
                end else begin
                    phase <= n_phase; pos <= pos + 16'd8; trail <= n_trail;
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
    // Room for the record in stage 0 and for one the beat now offered may complete.
    assign s_tready = {{(31 - AW){1'b0}}, used} + {31'd0, r0_valid} < FIFO_DEPTH;

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            wr <= 0; rd <= 0; used <= 0;
        end else begin
            if (r0_valid) begin
                fifo[wr] <= {r0_last, r0_locate, r0_seq0 + {48'd0, r0_idx} + {61'd0, r0_n}, r0_tsc,
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
