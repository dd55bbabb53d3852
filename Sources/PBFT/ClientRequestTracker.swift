import Cryptography

/// A result the consortium agreed on for one request.
public struct AcceptedReply: Hashable, Sendable {
    public var key: RequestKey
    public var sequence: UInt64
    public var status: ReplyStatus
    public var result: [UInt8]
}

/// The client's half of PBFT: a request's outcome is known once f+1 distinct
/// replicas sent the same answer, because at most f of them can lie. Pure like the
/// replica: the shell feeds it replies and retransmits on its own timer.
public struct ClientRequestTracker: Sendable {
    public enum Outcome: Hashable, Sendable {
        case accepted(AcceptedReply)
        case waiting(matching: Int)
        case ignored(String)
    }

    /// The fields a reply must share with others to count as matching. The view is
    /// left out: replicas that executed the request in different views agree anyway.
    struct Answer: Hashable {
        var sequence: UInt64
        var status: ReplyStatus
        var result: [UInt8]
    }

    public let configuration: Configuration
    let verifier: any SignatureVerifier
    /// Outstanding requests and the answer each replica gave (one per replica).
    var outstanding: [RequestKey: [ReplicaID: Answer]] = [:]

    public init(configuration: Configuration, verifier: any SignatureVerifier = Ed25519SignatureVerifier()) {
        self.configuration = configuration
        self.verifier = verifier
    }

    public var outstandingCount: Int { outstanding.count }

    /// Call when the request is first sent; replies for untracked requests are ignored.
    public mutating func track(_ key: RequestKey) {
        if outstanding[key] == nil { outstanding[key] = [:] }
    }

    public mutating func handle(_ reply: Signed<Reply>, from sender: ReplicaID) -> Outcome {
        let body = reply.body
        let key = RequestKey(client: body.client, requestID: body.requestID)
        guard var answers = outstanding[key] else { return .ignored("no outstanding \(key)") }
        guard body.replica == sender else { return .ignored("reply signed as \(body.replica) arrived from \(sender)") }
        guard answers[sender] == nil else { return .ignored("second reply from \(sender)") }
        guard verifier.verify(reply, in: configuration) else { return .ignored("bad signature from \(sender)") }
        let answer = Answer(sequence: body.sequence, status: body.status, result: body.result)
        answers[sender] = answer
        let matching = answers.values.filter { $0 == answer }.count
        if matching >= configuration.replyQuorum {
            outstanding[key] = nil
            return .accepted(AcceptedReply(key: key, sequence: answer.sequence, status: answer.status, result: answer.result))
        }
        outstanding[key] = answers
        return .waiting(matching: matching)
    }
}
