import Testing
@testable import FIX

@Suite struct FIXSessionTests {
    let second = FIXTime.nanosecondsPerSecond

    func loggedOnLink() -> SessionLink {
        var link = SessionLink()
        link.connect()
        return link
    }

    func types(_ frames: [FIXMessage]) -> [String] { frames.map(\.msgType.rawValue) }

    @Test func logonAndLogout() {
        var link = loggedOnLink()
        #expect(link[.acceptor].session.status == .active)
        #expect(link[.initiator].session.status == .active)
        #expect(link[.acceptor].logons.first?.heartBtInt == 30)
        #expect(link[.acceptor].session.heartBtInt == 30)
        #expect(link[.acceptor].sentFrames.first?.string(FIXTag.heartBtInt) == "30", "acceptor echoes HeartBtInt")
        #expect(link[.acceptor].timers[.heartbeat] == link.now + 30 * second)
        link.apply(link[.initiator].session.logout(text: "done", now: link.now), from: .initiator)
        link.pump()
        #expect(link[.initiator].disconnects == [.logoutCompleted])
        #expect(link[.acceptor].disconnects == [.peerLoggedOut("done")])
        #expect(types(link[.acceptor].sentFrames) == ["A", "5"])
        #expect(link[.acceptor].session.nextTargetSeqNum == 3)
        #expect(link[.initiator].session.nextTargetSeqNum == 3)
    }

    @Test func logoutReplyTimeout() {
        var link = loggedOnLink()
        link.drop = { from, m in from == .initiator && m.msgType == .logout }
        link.apply(link[.initiator].session.logout(now: link.now), from: .initiator)
        link.pump()
        link.advance(by: 6 * second)
        #expect(link[.initiator].disconnects == [.logoutTimeout])
    }

    @Test func wrongPasswordIsRefused() {
        var link = SessionLink(initiator: FIXSession(configuration: SessionLink.configuration(.initiator, password: "wrong")))
        link.connect()
        #expect(link[.acceptor].disconnects == [.logonRejected("invalid credentials")])
        #expect(link[.acceptor].logons.isEmpty)
        #expect(link[.initiator].logons.isEmpty)
        #expect(types(link[.acceptor].sentFrames) == ["5"])
        #expect(link[.acceptor].sentFrames.first?.string(FIXTag.text) == "invalid credentials")
        #expect(link[.initiator].disconnects == [.peerLoggedOut("invalid credentials")])
    }

    @Test func wrongCompIDIsRefused() {
        var link = SessionLink(initiator: FIXSession(configuration: SessionLink.configuration(.initiator, targetCompID: "SOMEONE-ELSE")))
        link.connect()
        #expect(link[.acceptor].disconnects == [.logonRejected("CompID problem")])
        #expect(link[.acceptor].delivered.isEmpty)
    }

    @Test func compIDChangeAfterLogonIsRejectedAndLoggedOut() {
        var link = loggedOnLink()
        let bad = frame("35=D|49=INTRUDER|56=CLEARLEDGER|34=2|52=\(sampleTime)|11=X|55=ACME|54=1|38=1|40=1|60=\(sampleTime)|")
        link.inject(bad, to: .acceptor)
        #expect(types(link[.acceptor].sentFrames).suffix(2) == ["3", "5"])
        #expect(link[.acceptor].sentFrames.suffix(2).first?.string(FIXTag.sessionRejectReason) == "9")
        #expect(link[.acceptor].disconnects == [.compIDProblem(sender: "INTRUDER", target: "CLEARLEDGER")])
    }

    @Test func firstMessageMustBeLogon() {
        var acceptor = FIXSession(configuration: SessionLink.configuration(.acceptor), verifier: SessionLink.verifier)
        _ = acceptor.connected(now: sampleNanos)
        let actions = acceptor.received(frame("35=0|49=CLIENT1|56=CLEARLEDGER|34=1|52=\(sampleTime)|"), now: sampleNanos)
        #expect(actions.contains { if case .disconnect(.firstMessageNotLogon(.heartbeat)) = $0 { true } else { false } })
        #expect(!actions.contains { if case .send = $0 { true } else { false } })
        #expect(acceptor.status == .disconnected)
        // Garbled input before Logon is ignored; the logon timer ends it.
        var b = FIXSession(configuration: SessionLink.configuration(.acceptor), verifier: SessionLink.verifier)
        _ = b.connected(now: sampleNanos)
        #expect(b.received(frame(newOrderBody, checkSumDelta: 3), now: sampleNanos).isEmpty)
        let timeout = b.timerFired(.logon, now: sampleNanos + 10 * second)
        #expect(timeout.contains { if case .disconnect(.logonTimeout) = $0 { true } else { false } })
    }

    @Test func heartbeatsAndTestRequests() {
        var link = loggedOnLink()
        link.advance(by: 31 * second)
        #expect(types(link[.acceptor].sentFrames) == ["A", "0"])
        #expect(types(link[.initiator].sentFrames) == ["A", "0"])
        // The initiator goes quiet (its frames are lost).
        link.drop = { from, _ in from == .initiator }
        link.advance(by: 37 * second)
        let testRequest = link[.acceptor].sentFrames.last
        #expect(testRequest?.msgType == .testRequest)
        // The initiator did answer with the TestReqID echoed, but the answer was lost.
        let answer = link[.initiator].sentFrames.last { $0.msgType == .heartbeat }
        #expect(answer?.string(FIXTag.testReqID) == testRequest?.string(FIXTag.testReqID))
        #expect(link[.acceptor].disconnects.isEmpty)
        link.advance(by: 37 * second)
        #expect(link[.acceptor].disconnects == [.testRequestUnanswered])
    }

    @Test func testRequestAnswerKeepsSessionAlive() {
        var link = loggedOnLink()
        // Only heartbeats from the initiator are lost, so it looks silent.
        link.drop = { from, m in from == .initiator && m.msgType == .heartbeat && !m.has(FIXTag.testReqID) }
        for _ in 0..<20 { link.advance(by: 10 * second) }
        #expect(link[.acceptor].disconnects.isEmpty)
        #expect(link[.acceptor].sentFrames.contains { $0.msgType == .testRequest })
        #expect(link[.acceptor].session.status == .active)
    }

    @Test func gapsDetectedAndFilledBothWays() {
        var link = loggedOnLink()
        // Lose orders 2 and 3 inbound and reports 1 and 4 outbound.
        link.drop = { from, m in
            (from == .initiator && ["ORD-2", "ORD-3"].contains(m.string(FIXTag.clOrdID) ?? "") && !m.possDup)
                || (from == .acceptor && ["O-1", "O-4"].contains(m.string(FIXTag.orderID) ?? "") && !m.possDup)
        }
        for n in 1...5 {
            link.send(order(n), from: .initiator)
            link.send(report(n), from: .acceptor)
            if n == 2 { link.advance(by: 31 * second) }  // heartbeats in between: admin, gap-filled
        }
        link.pump()
        #expect(link[.acceptor].delivered.map { $0.string(FIXTag.clOrdID) ?? "" } == (1...5).map { "ORD-\($0)" })
        #expect(link[.initiator].delivered.map { $0.string(FIXTag.orderID) ?? "" } == (1...5).map { "O-\($0)" })
        #expect(link[.acceptor].sentFrames.contains { $0.msgType == .resendRequest })
        #expect(link[.initiator].sentFrames.contains { $0.msgType == .resendRequest })
        let resent = link[.initiator].sentFrames.filter { $0.possDup && $0.msgType == .newOrderSingle }
        // EndSeqNo 0 asks for everything after the gap, so later orders come
        // again too; they are PossDup and below the expected number: ignored.
        #expect(Set(resent.map { $0.string(FIXTag.clOrdID) ?? "" }).isSuperset(of: ["ORD-2", "ORD-3"]))
        #expect(resent.allSatisfy { $0.has(FIXTag.origSendingTime) })
        let gapFills = (link[.initiator].sentFrames + link[.acceptor].sentFrames).filter { $0.msgType == .sequenceReset }
        #expect(!gapFills.isEmpty)
        #expect(gapFills.allSatisfy { $0.string(FIXTag.gapFillFlag) == "Y" && $0.possDup })
        #expect(link[.acceptor].session.nextTargetSeqNum == link[.initiator].session.nextSenderSeqNum)
        #expect(link[.initiator].session.nextTargetSeqNum == link[.acceptor].session.nextSenderSeqNum)
        #expect(link[.acceptor].disconnects.isEmpty && link[.initiator].disconnects.isEmpty)
    }

    @Test func seqNumTooLowLogsOut() {
        var link = loggedOnLink()
        link.send(order(1), from: .initiator)
        let stale = frame("35=0|49=CLIENT1|56=CLEARLEDGER|34=2|52=\(sampleTime)|")
        link.inject(stale, to: .acceptor)
        #expect(link[.acceptor].disconnects == [.msgSeqNumTooLow(expected: 3, received: 2)])
        let logout = link[.acceptor].sentFrames.last
        #expect(logout?.msgType == .logout)
        #expect(logout?.string(FIXTag.text) == "MsgSeqNum too low, expecting 3 but received 2")
    }

    @Test func possDupDuplicateIsIgnored() {
        var link = loggedOnLink()
        link.send(order(1), from: .initiator)
        #expect(link[.acceptor].delivered.count == 1)
        let original = link[.initiator].sentFrames.last!
        var h = FIXHeader(senderCompID: "CLIENT1", targetCompID: "CLEARLEDGER", msgSeqNum: original.msgSeqNum!, sendingTime: link.now, possDup: true)
        h.origSendingTime = link.now
        let dup = FIXEncoder.encode(FIXBody(msgType: original.msgType, encodedFields: original.bytes[original.bodyByteRange]), header: h)
        let before = link[.acceptor].sentFrames.count
        link.inject(dup, to: .acceptor)
        #expect(link[.acceptor].delivered.count == 1)
        #expect(link[.acceptor].sentFrames.count == before)
        #expect(link[.acceptor].session.status == .active)
    }

    @Test func possDupWithoutOrigSendingTimeIsRejected() {
        var link = loggedOnLink()
        link.inject(frame("35=D|49=CLIENT1|56=CLEARLEDGER|34=2|43=Y|52=\(sampleTime)|11=X|55=ACME|54=1|38=1|40=1|60=\(sampleTime)|"), to: .acceptor)
        let reject = link[.acceptor].sentFrames.last
        #expect(reject?.msgType == .reject)
        #expect(reject?.string(FIXTag.refTagID) == "122")
        #expect(reject?.string(FIXTag.sessionRejectReason) == "1")
        #expect(link[.acceptor].session.nextTargetSeqNum == 3)
        #expect(link[.acceptor].delivered.isEmpty)
    }

    @Test func invalidFrameGetsRejectAndConsumesSeqNum() {
        var link = loggedOnLink()
        link.inject(frame(newOrderBody + "55=DUP|"), to: .acceptor)
        let reject = link[.acceptor].sentFrames.last
        #expect(reject?.msgType == .reject)
        #expect(reject?.string(FIXTag.refSeqNum) == "2")
        #expect(reject?.string(FIXTag.refTagID) == "55")
        #expect(reject?.string(FIXTag.refMsgType) == "D")
        #expect(reject?.string(FIXTag.sessionRejectReason) == "13")
        #expect(link[.acceptor].session.nextTargetSeqNum == 3)
        // Garbled: ignored, sequence number not consumed.
        link.inject(frame(newOrderBody.replacingOccurrences("34=2|", "34=3|"), checkSumDelta: 1), to: .acceptor)
        #expect(link[.acceptor].session.nextTargetSeqNum == 3)
        #expect(link[.acceptor].sentFrames.last?.msgType == .reject)
        // Required field missing in the body: Reject 1 naming the tag.
        link.inject(frame("35=D|49=CLIENT1|56=CLEARLEDGER|34=3|52=\(sampleTime)|11=X|54=1|38=1|40=1|60=\(sampleTime)|"), to: .acceptor)
        #expect(link[.acceptor].delivered.count == 1, "session delivers; the typed view reports missing 55 to the gateway")
        #expect(throws: FIXFieldError(tag: 55, value: nil, problem: .missing)) { try NewOrderSingle(parsing: link[.acceptor].delivered[0]) }
    }

    @Test func sendingTimeOutOfToleranceIsRejectedAndLoggedOut() {
        var link = loggedOnLink()
        link.inject(frame("35=0|49=CLIENT1|56=CLEARLEDGER|34=2|52=20261125-17:50:00.000|"), to: .acceptor)
        let frames = link[.acceptor].sentFrames.suffix(2)
        #expect(types(Array(frames)) == ["3", "5"])
        #expect(frames.first?.string(FIXTag.sessionRejectReason) == "10")
        #expect(link[.acceptor].disconnects == [.sendingTimeProblem])
    }

    @Test func unsupportedMessageTypes() {
        var link = loggedOnLink()
        link.inject(frame("35=AE|49=CLIENT1|56=CLEARLEDGER|34=2|52=\(sampleTime)|"), to: .acceptor)
        let bmr = link[.acceptor].sentFrames.last
        #expect(bmr?.msgType == .businessMessageReject)
        #expect(bmr?.string(FIXTag.businessRejectReason) == "3")
        #expect(bmr?.string(FIXTag.refMsgType) == "AE")
        link.inject(frame("35=ZZZ|49=CLIENT1|56=CLEARLEDGER|34=3|52=\(sampleTime)|"), to: .acceptor)
        #expect(link[.acceptor].sentFrames.last?.string(FIXTag.sessionRejectReason) == "11")
        #expect(link[.acceptor].session.nextTargetSeqNum == 4)
        #expect(link[.acceptor].delivered.isEmpty)
    }

    @Test func sequenceResetModes() {
        var link = loggedOnLink()
        // Reset mode ignores MsgSeqNum and moves the expected number up.
        link.inject(frame("35=4|49=CLIENT1|56=CLEARLEDGER|34=999|52=\(sampleTime)|36=10|"), to: .acceptor)
        #expect(link[.acceptor].session.nextTargetSeqNum == 10)
        // ... but never down.
        link.inject(frame("35=4|49=CLIENT1|56=CLEARLEDGER|34=10|52=\(sampleTime)|36=5|"), to: .acceptor)
        #expect(link[.acceptor].sentFrames.last?.string(FIXTag.sessionRejectReason) == "5")
        #expect(link[.acceptor].session.nextTargetSeqNum == 10)
        // Gap fill in sequence.
        link.inject(frame("35=4|49=CLIENT1|56=CLEARLEDGER|34=10|52=\(sampleTime)|123=Y|36=20|"), to: .acceptor)
        #expect(link[.acceptor].session.nextTargetSeqNum == 20)
        #expect(link[.acceptor].session.status == .active)
    }

    @Test func resetSeqNumFlagOnLogon() {
        var link = loggedOnLink()
        for n in 1...3 { link.send(order(n), from: .initiator) }
        link.apply(link[.initiator].session.logout(now: link.now), from: .initiator)
        link.pump()
        var config = SessionLink.configuration(.initiator)
        config.resetSeqNumOnLogon = true
        link[.initiator] = Peer(FIXSession(configuration: config, restoring: link[.initiator].persistedState))
        link.connect()
        #expect(link[.acceptor].session.status == .active)
        #expect(link[.acceptor].sentFrames.last?.string(FIXTag.resetSeqNumFlag) == "Y")
        #expect(link[.acceptor].sentFrames.last?.msgSeqNum == 1)
        #expect(link[.acceptor].session.nextTargetSeqNum == 2)
        #expect(link[.initiator].session.nextTargetSeqNum == 2)
    }

    @Test func resendAnswersFromStoreWithGapFillForAdmin() {
        var link = loggedOnLink()  // acceptor sent Logon = 1
        link.send(report(1), from: .acceptor)  // 2
        link.advance(by: 31 * second)  // Heartbeat = 3
        link.send(report(2), from: .acceptor)  // 4
        let originals = link[.acceptor].sentFrames
        #expect(types(originals) == ["A", "8", "0", "8"])
        link.advance(by: 5 * second)
        let before = link[.acceptor].sentFrames.count
        let seq = link[.initiator].session.nextSenderSeqNum
        link.inject(frame("35=2|49=CLIENT1|56=CLEARLEDGER|34=\(seq)|52=\(FIXTime.format(link.now))|7=1|16=0|"), to: .acceptor)
        let answer = Array(link[.acceptor].sentFrames[before...])
        #expect(types(answer) == ["4", "8", "4", "8"])
        #expect(answer.map { $0.msgSeqNum ?? 0 } == [1, 2, 3, 4])
        #expect(answer.allSatisfy { $0.possDup })
        #expect(answer[0].string(FIXTag.gapFillFlag) == "Y" && answer[0].string(FIXTag.newSeqNo) == "2")
        #expect(answer[2].string(FIXTag.gapFillFlag) == "Y" && answer[2].string(FIXTag.newSeqNo) == "4")
        #expect(answer[1].string(FIXTag.origSendingTime) == originals[1].string(FIXTag.sendingTime))
        #expect(answer[1].string(FIXTag.sendingTime) == FIXTime.format(link.now))
        #expect(Array(answer[1].bytes[answer[1].bodyByteRange]) == Array(originals[1].bytes[originals[1].bodyByteRange]))
        #expect(link[.acceptor].session.nextSenderSeqNum == 5, "a resend consumes no new numbers")
        // A bounded range, and one past what was sent.
        let before2 = link[.acceptor].sentFrames.count
        link.inject(frame("35=2|49=CLIENT1|56=CLEARLEDGER|34=\(seq + 1)|52=\(FIXTime.format(link.now))|7=2|16=2|"), to: .acceptor)
        #expect(types(Array(link[.acceptor].sentFrames[before2...])) == ["8"])
    }

    @Test func restartContinuesSequenceAndResendsFromStore() {
        var link = loggedOnLink()
        // Report 3 is lost on the wire just before the gateway dies; nothing
        // after it tells the client there was a gap.
        link.drop = { from, m in from == .acceptor && m.string(FIXTag.orderID) == "O-3" && !m.possDup }
        for n in 1...3 {
            link.send(order(n), from: .initiator)
            link.send(report(n), from: .acceptor)
        }
        // The gateway dies mid-session; reports 4 and 5 are produced while the
        // client is away (stored, not sent).
        link.inFlight.append((.initiator, .close))
        link.inFlight.append((.acceptor, .close))
        link.pump()
        let saved = link[.acceptor].persistedState
        #expect(saved.nextTargetSeqNum == 5)  // Logon + 3 orders
        var restored = FIXSession(configuration: SessionLink.configuration(.acceptor), restoring: saved, verifier: SessionLink.verifier)
        #expect(restored.nextSenderSeqNum == link[.acceptor].session.nextSenderSeqNum)
        var pending: [FIXSessionAction] = restored.send(report(4), now: link.now)
        pending += restored.send(report(5), now: link.now)
        #expect(!pending.contains { if case .send = $0 { true } else { false } })
        var acceptor = Peer(restored)
        acceptor.persistedOutbound = saved.sentMessages
        link[.acceptor] = acceptor
        link.apply(pending, from: .acceptor)
        link.connect()
        #expect(link[.acceptor].session.status == .active)
        // The client saw the gap in the Logon reply and asked; 3 comes from the
        // store the restarted gateway restored, 4 and 5 from after the restart.
        #expect(link[.initiator].delivered.map { $0.string(FIXTag.orderID) ?? "" } == ["O-1", "O-2", "O-3", "O-4", "O-5"])
        #expect(link[.initiator].sentFrames.contains { $0.msgType == .resendRequest })
        link.send(order(4), from: .initiator)
        #expect(link[.acceptor].delivered.last?.string(FIXTag.clOrdID) == "ORD-4")
        // Continuity: orders 2–4, Logon 5, ResendRequest 6, this order 7.
        #expect(link[.acceptor].delivered.last?.msgSeqNum == 7)
        #expect(link[.acceptor].disconnects.isEmpty)
    }

    @Test func logonWithSeqNumTooHighTriggersResend() {
        // The client lost its store of sent messages 2...9 (or they were lost
        // on the wire): its Logon arrives as 10.
        let initiator = FIXSession(configuration: SessionLink.configuration(.initiator), restoring: FIXSessionState(nextSenderSeqNum: 10))
        var link = SessionLink(initiator: initiator)
        link.connect()
        #expect(types(link[.acceptor].sentFrames) == ["A", "2"])
        let request = link[.acceptor].sentFrames[1]
        #expect(request.string(FIXTag.beginSeqNo) == "1" && request.string(FIXTag.endSeqNo) == "0")
        // The client has nothing stored: one GapFill over 1...10 brings both in line.
        #expect(link[.initiator].sentFrames.last?.msgType == .sequenceReset)
        #expect(link[.acceptor].session.nextTargetSeqNum == 11)
        link.send(order(1), from: .initiator)
        #expect(link[.acceptor].delivered.map { $0.msgSeqNum } == [11])
        #expect(link[.acceptor].disconnects.isEmpty)
    }

    @Test func logonWithSeqNumTooLowIsRefused() {
        var acceptor = FIXSession(configuration: SessionLink.configuration(.acceptor), restoring: FIXSessionState(nextTargetSeqNum: 5), verifier: SessionLink.verifier)
        _ = acceptor.connected(now: sampleNanos)
        let actions = acceptor.received(frame("35=A|49=CLIENT1|56=CLEARLEDGER|34=2|52=\(sampleTime)|98=0|108=30|554=secret|"), now: sampleNanos)
        #expect(actions.contains { if case .disconnect(.logonRejected("MsgSeqNum too low, expecting 5 but received 2")) = $0 { true } else { false } })
        #expect(acceptor.nextTargetSeqNum == 5)
    }

    @Test func logonFieldProblemsAreRefused() {
        for (body, reason) in [
            ("98=0|108=0|554=secret|", "HeartBtInt 0 not accepted"),
            ("98=0|108=9999|554=secret|", "HeartBtInt 9999 not accepted"),
            ("98=1|108=30|554=secret|", "tag 98: value incorrect '1'"),
            ("98=0|554=secret|", "required tag 108 missing"),
            ("98=0|108=30|141=Y|554=secret|", "ResetSeqNumFlag with MsgSeqNum 2"),
            ("98=0|108=30|108=30|554=secret|", "tag 108 appears more than once"),
        ] {
            var acceptor = FIXSession(configuration: SessionLink.configuration(.acceptor), verifier: SessionLink.verifier)
            _ = acceptor.connected(now: sampleNanos)
            let seq = body.contains("141=Y") ? 2 : 1
            let actions = acceptor.received(frame("35=A|49=CLIENT1|56=CLEARLEDGER|34=\(seq)|52=\(sampleTime)|" + body), now: sampleNanos)
            #expect(actions.contains { if case .disconnect(.logonRejected(reason)) = $0 { true } else { false } }, "\(body)")
            #expect(!actions.contains { if case .loggedOn = $0 { true } else { false } })
        }
    }

    @Test func oversizeFrameEndsTheSession() {
        var link = loggedOnLink()
        link.apply(link[.acceptor].session.frameTooLarge(now: link.now), from: .acceptor)
        #expect(link[.acceptor].disconnects == [.frameTooLarge])
        #expect(link[.acceptor].sentFrames.last?.msgType == .logout)
    }

    @Test func appMessagesWhileDisconnectedAreStoredNotSent() {
        var acceptor = FIXSession(configuration: SessionLink.configuration(.acceptor), verifier: SessionLink.verifier)
        let actions = acceptor.send(report(1), now: sampleNanos)
        #expect(actions.count == 1)
        guard case .persistOutbound(seqNum: 1, _) = actions[0] else {
            Issue.record("expected persistOutbound, got \(actions)")
            return
        }
        #expect(acceptor.nextSenderSeqNum == 2)
    }

    @Test func rejectDeliveredNamesTagAndReason() {
        var link = loggedOnLink()
        link.inject(frame("35=D|49=CLIENT1|56=CLEARLEDGER|34=2|52=\(sampleTime)|11=X|54=1|38=1|40=1|60=\(sampleTime)|"), to: .acceptor)
        let m = link[.acceptor].delivered[0]
        do {
            _ = try NewOrderSingle(parsing: m)
            Issue.record("parsed without Symbol")
        } catch {
            link.apply(link[.acceptor].session.rejectDelivered(m, error: error, now: link.now), from: .acceptor)
            link.pump()
        }
        let reject = link[.acceptor].sentFrames.last
        #expect(reject?.msgType == .reject)
        #expect(reject?.string(FIXTag.refSeqNum) == "2")
        #expect(reject?.string(FIXTag.refTagID) == "55")
        #expect(reject?.string(FIXTag.refMsgType) == "D")
        #expect(reject?.string(FIXTag.sessionRejectReason) == "1")
        #expect(link[.acceptor].session.nextTargetSeqNum == 3)
    }

    @Test func operatorResetWhileDisconnected() {
        var link = loggedOnLink()
        #expect(link[.acceptor].session.resetSequenceNumbers().isEmpty, "not while connected")
        link.apply(link[.initiator].session.logout(now: link.now), from: .initiator)
        link.pump()
        let actions = link[.acceptor].session.resetSequenceNumbers()
        #expect(actions.count == 1)
        #expect(link[.acceptor].session.nextSenderSeqNum == 1 && link[.acceptor].session.nextTargetSeqNum == 1)
    }

    @Test func stateSnapshotRoundTrip() {
        var link = loggedOnLink()
        link.send(report(1), from: .acceptor)
        let snapshot = link[.acceptor].session.state
        #expect(snapshot == link[.acceptor].persistedState)
        #expect(snapshot.sentMessages.count == 1)
    }
}
