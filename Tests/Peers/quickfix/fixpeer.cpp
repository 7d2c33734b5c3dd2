// QuickFIX (C++, libquickfix 1.15) test peer for the OmniGateway FIX interop tests.
//
//   fixpeer initiator <config>   logs on to our acceptor and runs the order-entry script below
//   fixpeer acceptor  <config>   accepts our initiator; answers each NewOrderSingle with an
//                                ExecutionReport new then a fill; exits after Logout
//
// Prints one line per event on stdout (the Swift tests read them):
//   LOGON | LOGOUT | IN <35> <tag=value|...>  (every message received, admin and app)
//   SEND <35> <ClOrdID> | STEP <name> | DONE | TIMEOUT
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

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
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

struct Peer : public FIX::Application {
    bool initiator;
    std::atomic<bool> done{false};
    int step = 0;
    explicit Peer(bool i) : initiator(i) {}

    void onCreate(const FIX::SessionID &) override {}
    void onLogon(const FIX::SessionID &sid) override {
        say("LOGON");
        if (initiator && step == 0) {
            step = 1;
            order(sid, "o1", "1", "100", "2", "100.50");
        }
    }
    void onLogout(const FIX::SessionID &) override { say("LOGOUT"); done = true; }
    void toAdmin(FIX::Message &, const FIX::SessionID &) override {}
    void toApp(FIX::Message &, const FIX::SessionID &) throw(FIX::DoNotSend) override {}
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
            if (type == "D") {
                for (int k = 0; k < 2; k++) {
                    FIX::Message er;
                    er.getHeader().setField(35, "8");
                    er.setField(37, "QF-1");
                    er.setField(11, get(m, 11));
                    er.setField(17, k == 0 ? "QF-E1" : "QF-E2");
                    er.setField(150, k == 0 ? "0" : "F");
                    er.setField(39, k == 0 ? "0" : "2");
                    er.setField(55, get(m, 55));
                    er.setField(54, get(m, 54));
                    er.setField(38, get(m, 38));
                    er.setField(151, k == 0 ? get(m, 38) : "0");
                    er.setField(14, k == 0 ? "0" : get(m, 38));
                    er.setField(6, k == 0 ? "0" : get(m, 44));
                    if (k == 1) { er.setField(31, get(m, 44)); er.setField(32, get(m, 38)); }
                    send(er, sid);
                }
            }
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
    if (argc != 3) { std::cerr << "usage: fixpeer initiator|acceptor CONFIG\n"; return 2; }
    bool init = std::string(argv[1]) == "initiator";
    try {
        FIX::SessionSettings settings(argv[2]);
        Peer app(init);
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
