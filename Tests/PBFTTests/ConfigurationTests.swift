import Cryptography
import Testing

@testable import PBFT

@Suite struct ConfigurationTests {
    static func members(_ count: Int) -> [Ed25519PublicKey] { (0..<count).map { Keys.member($0).publicKey } }

    @Test func quorumsFollowF() throws {
        let four = try Configuration(members: Self.members(4), clients: [])
        #expect((four.f, four.prepareQuorum, four.quorum, four.replyQuorum) == (1, 2, 3, 2))
        let seven = try Configuration(members: Self.members(7), clients: [])
        #expect((seven.f, seven.prepareQuorum, seven.quorum, seven.replyQuorum) == (2, 4, 5, 3))
        #expect(seven.primary(of: 9) == ReplicaID(2))
        #expect(four.logWindow == 2 * four.checkpointInterval)
    }

    @Test func refusesWhatCannotWork() {
        #expect(throws: ConfigurationError.self) { try Configuration(members: Self.members(5), clients: []) }
        #expect(throws: ConfigurationError.self) { try Configuration(members: Self.members(1), clients: []) }
        let duplicate = Self.members(3) + [Keys.member(0).publicKey]
        #expect(throws: ConfigurationError.self) { try Configuration(members: duplicate, clients: []) }
        #expect(throws: ConfigurationError.self) {
            try Configuration(members: Self.members(4), checkpointInterval: 10, logWindow: 15, clients: [])
        }
        #expect(throws: ConfigurationError.self) {
            try Configuration(members: Self.members(4), checkpointInterval: 0, clients: [])
        }
        // A request as large as the batch limit could never be proposed.
        #expect(throws: ConfigurationError.self) {
            try Configuration(
                members: Self.members(4), batch: BatchPolicy(maxRequests: 8, maxBytes: 4096, timeout: 0), clients: [],
                maxPayloadBytes: 4096)
        }
        let client = AuthorizedClient(id: ClientID(1), kind: .admin, publicKey: Keys.admin.publicKey)
        #expect(throws: ConfigurationError.invalid(field: "clients", reason: "duplicate id 1")) {
            try Configuration(members: Self.members(4), clients: [client, client])
        }
    }
}
