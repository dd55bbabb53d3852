public struct Account: Equatable, Sendable {
    public var id: AccountID
    public var name: String
    /// The clearing member that carries this account.
    public var member: UInt32
    /// May hold securities restricted to eligible holders (accredited investors).
    public var eligible: Bool
    /// A frozen account can neither send nor receive shares or cash.
    public var frozen: Bool

    public init(id: AccountID, name: String, member: UInt32, eligible: Bool = false, frozen: Bool = false) {
        self.id = id
        self.name = name
        self.member = member
        self.eligible = eligible
        self.frozen = frozen
    }
}

extension Account {
    func encode(into w: inout ByteWriter) {
        w.u32(id); w.string(name); w.u32(member); w.bool(eligible); w.bool(frozen)
    }

    static func decode(from r: inout ByteReader) throws(DecodeError) -> Account {
        Account(id: try r.u32("account.id"), name: try r.string("account.name"), member: try r.u32("account.member"),
                eligible: try r.bool("account.eligible"), frozen: try r.bool("account.frozen"))
    }
}
