// QuickFIX (C++, libquickfix 1.15) test peer for the OmniGateway FIX interop tests.
//
//   fixpeer initiator <config>   logs on to our acceptor and runs the order-entry script below
//   fixpeer acceptor  <config> [RULE]   accepts our initiator and acts as a minimal venue (below);
//                                exits after Logout
//
// Prints one line per event on stdout (the Swift tests read them):
//   LOGON | LOGOUT | IN <35> <tag=value|...>  (every message received, admin and app)
//   OUT <35> <tag=value|...>  (every message QuickFIX sends, admin and app, as toAdmin / toApp see it)
//   SEND <35> <ClOrdID> | STEP <name> | DONE | TIMEOUT
//
// Acceptor venue (every answer built with QuickFIX's FIX44:: message classes and typed fields;
// incoming fields read through typed fields too, so a malformed 38/44/54 is QuickFIX's Reject):
//   D  -> ExecutionReport New (150=0 39=0, 37=QF-<n>, 17=QF-E<n>), then the fills the rule gives
//         (150=F, 39=1 while some is left, 39=2 when none; 31 = the order's limit price 44,
//         32 = the fill, 14/151/6 running; ExecIDs unique across the session). RULE is
//         "QTY:F1+F2+...,QTY:..." : an order whose OrderQty is QTY gets fills F1, F2, ...
//         (cut at what is left); other orders rest. No RULE: every order fills in full at once.
//   G  -> for a live OrigClOrdID (41): Replaced (150=5, 39=0 or 1) under the new ClOrdID with
//         41, the new 38 and 44, 151 = new 38 - 14; else OrderCancelReject (9) 434=2 102=1 39=8.
//   F  -> for a live 41: Canceled (150=4 39=4 151=0); else OrderCancelReject 434=1 102=1 39=8.
//         A filled order is no longer live: its cancel is rejected the same way.
//
// Initiator script (advances on the ExecutionReports it receives):
//   o1 buy 100 @ 100.50 (the fake venue fills) -> o2 buy 200 @ 98 (rests) -> replace o2 by o3
//   (300 @ 98.25) -> cancel o3 as o4 -> cancel unknown "nope" as o5 (OrderCancelReject) ->
//   skip one outbound MsgSeqNum and send o6 sell 50 market (the acceptor must ask for a resend:
//   QuickFIX gap-fills the skipped number and resends o6 with PossDupFlag) -> after o6's fill,
//   lower its expected inbound MsgSeqNum by 3 and send o7 (rests): the acceptor's reply is
//   too high, QuickFIX asks for a resend, the acceptor resends ERs with PossDupFlag and
//   gap-fills admin messages -> Logout.
#include <quickfix/Application.h>
#include <quickfix/FileLog.h>
#include <quickfix/FileStore.h>
#include <quickfix/Message.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketAcceptor.h>
#include <quickfix/SocketInitiator.h>
#include <quickfix/fix44/ExecutionReport.h>
#include <quickfix/fix44/OrderCancelReject.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <vector>
#include <string>
#include <thread>

static std::mutex out_mu;
static void say(const std::string &s) {
    std::lock_guard<std::mutex> l(out_mu);
    std::cout << s << std::endl;
}
static std::string pipes(std::string s) {
    for (auto &c : s) if (c == '\x01') c = '|';
    return s;
}
static std::string get(const FIX::FieldMap &m, int tag) {
    return m.isSetField(tag) ? m.getField(tag) : std::string();
}

// The acceptor's book: live orders by their current ClOrdID.
struct Venue {
    struct Order {
        std::string orderID, symbol;
        char side;
        double qty, px, cum = 0, notional = 0;
        bool hasPx;
        double leaves() const { return qty - cum; }
        double avg() const { return cum > 0 ? notional / cum : 0; }
    };
    std::map<std::string, Order> live;
    std::map<double, std::vector<double>> rule;  // OrderQty -> fills
    bool fillAll = true;
    int orders = 0, execs = 0;

    explicit Venue(const char *spec) {
        if (!spec) return;
        fillAll = false;
        std::stringstream all(spec);
        std::string entry;
        while (std::getline(all, entry, ',')) {
            auto colon = entry.find(':');
            if (colon == std::string::npos) continue;
            std::vector<double> fills;
            std::stringstream fs(entry.substr(colon + 1));
            std::string f;
            while (std::getline(fs, f, '+')) fills.push_back(std::stod(f));
            rule[std::stod(entry.substr(0, colon))] = fills;
        }
    }

    FIX44::ExecutionReport report(const Order &o, const std::string &cl, const std::string *orig, char execType, char ordStatus,
                                  double leaves, double lastQty = 0, double lastPx = 0) {
        FIX44::ExecutionReport er(FIX::OrderID(o.orderID), FIX::ExecID("QF-E" + std::to_string(++execs)), FIX::ExecType(execType),
                                  FIX::OrdStatus(ordStatus), FIX::Side(o.side), FIX::LeavesQty(leaves), FIX::CumQty(o.cum),
                                  FIX::AvgPx(o.avg()));
        er.set(FIX::ClOrdID(cl));
        if (orig) er.set(FIX::OrigClOrdID(*orig));
        er.set(FIX::Symbol(o.symbol));
        er.set(FIX::OrderQty(o.qty));
        if (o.hasPx) er.set(FIX::Price(o.px));
        if (lastQty > 0) { er.set(FIX::LastQty(lastQty)); er.set(FIX::LastPx(lastPx)); }
        er.set(FIX::TransactTime());
        return er;
    }
    static FIX44::OrderCancelReject unknown(const std::string &cl, const std::string &orig, char responseTo) {
        FIX44::OrderCancelReject r(FIX::OrderID("NONE"), FIX::ClOrdID(cl), FIX::OrigClOrdID(orig), FIX::OrdStatus(FIX::OrdStatus_REJECTED),
                                   FIX::CxlRejResponseTo(responseTo));
        r.set(FIX::CxlRejReason(FIX::CxlRejReason_UNKNOWN_ORDER));
        r.set(FIX::Text("unknown order"));
        return r;
    }

    // Answers one application message; `send` takes each answer in order.
    template <class Send> void on(const FIX::Message &m, const std::string &type, Send send) {
        FIX::ClOrdID cl;
        m.getField(cl);
        if (type == "D") {
            Order o;
            FIX::Symbol sym; FIX::Side side; FIX::OrderQty qty;
            m.getField(sym); m.getField(side); m.getField(qty);
            o.symbol = sym.getValue(); o.side = side.getValue(); o.qty = qty.getValue();
            o.hasPx = m.isSetField(FIX::FIELD::Price);
            if (o.hasPx) { FIX::Price px; m.getField(px); o.px = px.getValue(); } else o.px = 0;
            o.orderID = "QF-" + std::to_string(++orders);
            send(report(o, cl.getValue(), nullptr, FIX::ExecType_NEW, FIX::OrdStatus_NEW, o.leaves()));
            std::vector<double> fills;
            if (fillAll) fills.push_back(o.qty);
            else if (rule.count(o.qty)) fills = rule[o.qty];
            for (double f : fills) {
                double q = std::min(f, o.leaves());
                if (q <= 0) break;
                o.cum += q; o.notional += q * o.px;
                send(report(o, cl.getValue(), nullptr, FIX::ExecType_TRADE,
                            o.leaves() > 0 ? FIX::OrdStatus_PARTIALLY_FILLED : FIX::OrdStatus_FILLED, o.leaves(), q, o.px));
            }
            if (o.leaves() > 0) live[cl.getValue()] = o;
        } else if (type == "G" || type == "F") {
            FIX::OrigClOrdID orig;
            m.getField(orig);
            auto it = live.find(orig.getValue());
            if (it == live.end()) {
                send(unknown(cl.getValue(), orig.getValue(), type == "F" ? FIX::CxlRejResponseTo_ORDER_CANCEL_REQUEST
                                                                        : FIX::CxlRejResponseTo_ORDER_CANCEL_REPLACE_REQUEST));
                return;
            }
            Order o = it->second;
            live.erase(it);
            const std::string was = orig.getValue();
            if (type == "F") {
                send(report(o, cl.getValue(), &was, FIX::ExecType_CANCELED, FIX::OrdStatus_CANCELED, 0));
                return;
            }
            FIX::OrderQty qty;
            m.getField(qty);
            o.qty = qty.getValue();
            if (m.isSetField(FIX::FIELD::Price)) { FIX::Price px; m.getField(px); o.px = px.getValue(); o.hasPx = true; }
            send(report(o, cl.getValue(), &was, FIX::ExecType_REPLACED,
                        o.cum > 0 ? FIX::OrdStatus_PARTIALLY_FILLED : FIX::OrdStatus_NEW, o.leaves()));
            live[cl.getValue()] = o;
        }
    }
};

struct Peer : public FIX::Application {
    bool initiator;
    Venue venue;
    std::atomic<bool> done{false};
    int step = 0;
    Peer(bool i, const char *rule) : initiator(i), venue(rule) {}

    void onCreate(const FIX::SessionID &) override {}
    void onLogon(const FIX::SessionID &sid) override {
        say("LOGON");
        if (initiator && step == 0) {
            step = 1;
            order(sid, "o1", "1", "100", "2", "100.50");
        }
    }
    void onLogout(const FIX::SessionID &) override { say("LOGOUT"); done = true; }
    void toAdmin(FIX::Message &m, const FIX::SessionID &) override {
        say("OUT " + get(m.getHeader(), 35) + " " + pipes(m.toString()));
    }
    void toApp(FIX::Message &m, const FIX::SessionID &) throw(FIX::DoNotSend) override {
        say("OUT " + get(m.getHeader(), 35) + " " + pipes(m.toString()));
    }
    void fromAdmin(const FIX::Message &m, const FIX::SessionID &) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                                                         FIX::IncorrectTagValue, FIX::RejectLogon) override {
        say("IN " + get(m.getHeader(), 35) + " " + pipes(m.toString()));
    }

    static void send(FIX::Message &m, const FIX::SessionID &sid) { FIX::Session::sendToTarget(m, sid); }

    void order(const FIX::SessionID &sid, const char *id, const char *side, const char *qty, const char *type, const char *px) {
        FIX::Message m;
        m.getHeader().setField(35, "D");
        m.setField(11, id);
        m.setField(55, "OMNI");
        m.setField(54, side);
        m.setField(38, qty);
        m.setField(40, type);
        if (px) m.setField(44, px);
        m.setField(59, "0");
        m.setField(60, FIX::UtcTimeStampField(60).getString());
        say(std::string("SEND D ") + id);
        send(m, sid);
    }
    void cancel(const FIX::SessionID &sid, const char *id, const char *orig) {
        FIX::Message m;
        m.getHeader().setField(35, "F");
        m.setField(11, id);
        m.setField(41, orig);
        m.setField(55, "OMNI");
        m.setField(54, "1");
        m.setField(60, FIX::UtcTimeStampField(60).getString());
        say(std::string("SEND F ") + id);
        send(m, sid);
    }
    void replace(const FIX::SessionID &sid, const char *id, const char *orig, const char *qty, const char *px) {
        FIX::Message m;
        m.getHeader().setField(35, "G");
        m.setField(11, id);
        m.setField(41, orig);
        m.setField(55, "OMNI");
        m.setField(54, "1");
        m.setField(38, qty);
        m.setField(40, "2");
        m.setField(44, px);
        m.setField(60, FIX::UtcTimeStampField(60).getString());
        say(std::string("SEND G ") + id);
        send(m, sid);
    }

    void fromApp(const FIX::Message &m, const FIX::SessionID &sid) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                                                           FIX::IncorrectTagValue, FIX::UnsupportedMessageType) override {
        std::string type = get(m.getHeader(), 35);
        say("IN " + type + " " + pipes(m.toString()));
        if (!initiator) {
            venue.on(m, type, [&](FIX::Message &&answer) { send(answer, sid); });
            return;
        }
        if (get(m.getHeader(), 43) == "Y" && step != 6 && step != 7) return;  // resent duplicates of what we already saw
        std::string cl = get(m, 11), st = get(m, 39), et = get(m, 150);
        FIX::Session *s = FIX::Session::lookupSession(sid);
        if (step == 1 && type == "8" && cl == "o1" && st == "2") {
            step = 2; say("STEP filled"); order(sid, "o2", "1", "200", "2", "98");
        } else if (step == 2 && type == "8" && cl == "o2" && et == "0") {
            step = 3; say("STEP rested"); replace(sid, "o3", "o2", "300", "98.25");
        } else if (step == 3 && type == "8" && cl == "o3" && et == "5") {
            step = 4; say("STEP replaced"); cancel(sid, "o4", "o3");
        } else if (step == 4 && type == "8" && cl == "o4" && et == "4") {
            step = 5; say("STEP canceled"); cancel(sid, "o5", "nope");
        } else if (step == 5 && type == "9" && cl == "o5") {
            step = 6; say("STEP cancel-rejected");
            s->setNextSenderMsgSeqNum(s->getExpectedSenderNum() + 1);
            say("SKIP outbound seq");
            order(sid, "o6", "2", "50", "1", nullptr);
        } else if (step == 6 && type == "8" && cl == "o6" && st == "2") {
            step = 7; say("STEP gap-recovered");
            s->setNextTargetMsgSeqNum(s->getExpectedTargetNum() - 3);
            say("LOWER inbound seq");
            order(sid, "o7", "1", "10", "2", "90");
        } else if (step == 7 && type == "8" && cl == "o7" && et == "0") {
            step = 8; say("STEP resend-served");
            s->logout("done");
        }
    }
};

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) { std::cerr << "usage: fixpeer initiator|acceptor CONFIG [RULE]\n"; return 2; }
    bool init = std::string(argv[1]) == "initiator";
    try {
        FIX::SessionSettings settings(argv[2]);
        Peer app(init, argc == 4 ? argv[3] : nullptr);
        FIX::FileStoreFactory store(settings);
        FIX::FileLogFactory log(settings);
        FIX::Initiator *i = nullptr;
        FIX::Acceptor *a = nullptr;
        if (init) { i = new FIX::SocketInitiator(app, store, settings, log); i->start(); }
        else { a = new FIX::SocketAcceptor(app, store, settings, log); a->start(); say("LISTENING"); }
        auto t0 = std::chrono::steady_clock::now();
        while (!app.done && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(30))
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        bool ok = app.done;
        say(ok ? "DONE" : "TIMEOUT");
        if (i) { i->stop(); delete i; }
        if (a) { a->stop(); delete a; }
        return ok ? 0 : 1;
    } catch (std::exception &e) {
        std::cerr << "fixpeer: " << e.what() << "\n";
        return 3;
    }
}
