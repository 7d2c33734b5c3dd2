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
    // cw_mold_event_counts, field for field
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

    // ---- stage 0 state, updated on every beat taken
    phase_t      phase;
    logic [15:0] pos;        // packet offset of lane 0 of the next beat
    logic [63:0] seq0;       // the header's sequence number
    logic [15:0] count;      // the header's block count
    logic [15:0] idx;        // index of the block being walked
    logic [15:0] len;        // its length
    logic [15:0] rem;        // its message bytes not yet seen
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
    logic [7:0]  r0_type;
    logic [63:0] r0_seq0, r0_base, r0_tsc;

    wire take = s_tvalid && s_tready;

    // ---- stage 0: walk the beat lane by lane
    phase_t      n_phase;
    logic [15:0] n_pos, n_count, n_idx, n_len, n_rem, n_start, n_locate;
    logic [63:0] n_seq0;
    logic [7:0]  n_type;
    logic        n_len_ok, n_trail;
    logic        e_valid, e_last;   // a well-formed message ended in this beat
    logic [15:0] e_locate, e_idx, e_start, e_len;
    logic [7:0]  e_type;
    logic [2:0]  e_malformed;       // blocks dropped in this beat (at most 4: 2-byte empty blocks)
    logic        e_heartbeat, e_eos;

    always_comb begin : walk
        logic [15:0] o;
        logic [7:0]  b;
        logic        done;          // the current block ended at this lane
        n_phase = phase; n_pos = pos; n_seq0 = seq0; n_count = count; n_idx = idx; n_len = len;
        n_rem = rem; n_start = start; n_type = mtype; n_locate = locate; n_len_ok = len_ok; n_trail = trail;
        e_valid = 0; e_last = 0; e_locate = 0; e_idx = 0; e_start = 0; e_len = 0; e_type = 0;
        e_malformed = 0; e_heartbeat = 0; e_eos = 0;
        for (int i = 0; i < 8; i++) begin
            o = pos + 16'(i);
            b = s_tdata[8*i +: 8];
            done = 0;
            if (s_tkeep[i]) begin
                case (n_phase)
                    HDR: begin
                        if (o >= 10 && o <= 17) n_seq0[8*(17 - o) +: 8] = b;
                        if (o == 18) n_count[15:8] = b;
                        if (o == 19) begin
                            n_count[7:0] = b;
                            n_idx = 0;
                            if (n_count == 16'h0000) begin e_heartbeat = 1; n_phase = REST; end
                            else if (n_count == 16'hFFFF) begin e_eos = 1; n_phase = REST; end
                            else n_phase = LEN_HI;
                        end
                    end
                    LEN_HI: begin n_len[15:8] = b; n_phase = LEN_LO; end
                    LEN_LO: begin
                        n_len[7:0] = b;
                        n_rem = n_len;
                        n_start = o + 1;
                        if (n_len == 0) begin e_malformed = e_malformed + 1; done = 1; end
                        else n_phase = BODY;
                    end
                    BODY: begin
                        if (n_rem == n_len) begin n_type = b; n_len_ok = n_len == {10'd0, itch_len(b)}; end
                        if (n_rem == n_len - 1) n_locate[15:8] = b;
                        if (n_rem == n_len - 2) n_locate[7:0] = b;
                        n_rem = n_rem - 1;
                        if (n_rem == 0) begin
                            done = 1;
                            if (n_len_ok) begin
                                e_valid = 1; e_last = n_idx == n_count - 1; e_locate = n_locate; e_idx = n_idx;
                                e_start = n_start; e_len = n_len; e_type = n_type;
                            end else e_malformed = e_malformed + 1;
                        end
                    end
                    default: n_trail = 1; // REST
                endcase
                if (done) begin
                    n_phase = n_idx == n_count - 1 ? REST : LEN_HI;
                    n_idx = n_idx + 1;
                end
            end
        end
        n_pos = pos + 16'd8;
    end

    // Bytes in this beat: s_tkeep keeps lanes 0..n-1.
    logic [3:0] beat_bytes;
    always_comb begin
        beat_bytes = 0;
        for (int i = 0; i < 8; i++) if (s_tkeep[i]) beat_bytes = 4'(i + 1);
    end

    always_ff @(posedge clk) begin
        if (!rst_n) begin
            phase <= HDR; pos <= 0; seq0 <= 0; count <= 0; idx <= 0; len <= 0; rem <= 0; start <= 0;
            mtype <= 0; locate <= 0; len_ok <= 0; trail <= 0; base <= 0; cycle <= 0; pkt_tsc <= 0;
            r0_valid <= 0;
            cnt_packets <= 0; cnt_heartbeats <= 0; cnt_end_of_session <= 0; cnt_messages <= 0;
            cnt_malformed <= 0; cnt_truncated <= 0; cnt_trailing <= 0;
        end else begin
            cycle <= cycle + 1;
            r0_valid <= take && e_valid;
            if (take) begin
                if (phase == HDR && pos == 0) pkt_tsc <= cycle;
                r0_last <= e_last; r0_locate <= e_locate; r0_idx <= e_idx; r0_start <= e_start;
                r0_len <= e_len; r0_type <= e_type; r0_seq0 <= n_seq0; r0_base <= base;
                r0_tsc <= phase == HDR && pos == 0 ? cycle : pkt_tsc;
                cnt_messages <= cnt_messages + {63'd0, e_valid};
                cnt_malformed <= cnt_malformed + {61'd0, e_malformed};
                cnt_heartbeats <= cnt_heartbeats + {63'd0, e_heartbeat};
                cnt_end_of_session <= cnt_end_of_session + {63'd0, e_eos};
                seq0 <= n_seq0; count <= n_count; idx <= n_idx; len <= n_len; rem <= n_rem; start <= n_start;
                mtype <= n_type; locate <= n_locate; len_ok <= n_len_ok;
                if (s_tlast) begin
                    cnt_packets <= cnt_packets + 1;
                    if (n_phase != REST) cnt_truncated <= cnt_truncated + 1;
                    else if (n_trail) cnt_trailing <= cnt_trailing + 1;
                    phase <= HDR; pos <= 0; trail <= 0;
                    base <= base + {48'd0, pos} + {60'd0, beat_bytes};
                end else begin
                    phase <= n_phase; pos <= n_pos; trail <= n_trail;
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
