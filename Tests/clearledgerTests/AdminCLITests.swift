import Foundation
import Testing

/// A ledger directory made through the CLI: keys, genesis, init, one security.
struct CLIFixture {
    let dir: String
    var ledger: String { dir + "/L" }

    init() throws {
        dir = try CLI.temporaryDirectory()
        for name in ["admin", "exchange", "m1", "stranger"] {
            let r = try CLI.run(["keygen", "--out", name], in: dir)
            #expect(r.status == 0, "keygen \(name): \(r.stderr)")
        }
        let g = try CLI.run(["genesis", "--out", "genesis.json", "--chain-id", "cli-test", "--member", "1,alpha,127.0.0.1:7001,m1/public.pem",
                             "--admin-key", "admin/public.pem", "--exchange-key", "exchange/public.pem", "--checkpoint-interval", "3",
                             "--account", "1,Issuer,1", "--account", "2,Alice,1,eligible", "--account", "3,Bob,1"], in: dir)
        #expect(g.status == 0, "genesis: \(g.stderr)")
        let i = try CLI.run(["ledger", "init", "--genesis", "genesis.json", "--ledger", "L"], in: dir)
        #expect(i.status == 0, "init: \(i.stderr)")
        try admin(["create-security", "--id", "1", "--symbol", "ACME", "--name", "Acme Inc", "--issuer", "1", "--authorized", "1000000"])
        try admin(["create-security", "--id", "2", "--symbol", "PRIV", "--name", "Private Co", "--issuer", "1", "--authorized", "1000",
                   "--restriction", "eligible-only"])
        try admin(["issue", "--security", "ACME", "--to", "2", "--shares", "5000"])
        try admin(["issue", "--security", "PRIV", "--to", "2", "--shares", "100"])
    }

    @discardableResult
    func admin(_ arguments: [String], key: String = "admin/private.pem", expectSuccess: Bool = true) throws -> CLI.Result {
        let r = try CLI.run(["admin"] + arguments + ["--key", key, "--ledger", "L"], in: dir)
        if expectSuccess { #expect(r.status == 0, "\(arguments): \(r.stderr)") }
        return r
    }

    /// Every byte of the ledger directory, to prove a failed command wrote nothing.
    func fingerprint() throws -> [String: Data] {
        var result: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: ledger)
        while let path = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: ledger + "/" + path, isDirectory: &isDirectory)
            if !isDirectory.boolValue { result[path] = FileManager.default.contents(atPath: ledger + "/" + path) }
        }
        return result
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: dir) }
}

@Suite struct AdminCLITests {
    @Test func errorsAreOneLineNamingFieldAndValueAndChangeNothing() throws {
        let fx = try CLIFixture()
        defer { fx.cleanUp() }
        let before = try fx.fingerprint()
        #expect(before.keys.contains { $0.hasPrefix("blocks/segment-") })
        let cases: [(args: [String], key: String, mustContain: [String])] = [
            (["issue", "--security", "ACME", "--to", "2", "--shares", "5"], "stranger/private.pem", ["--key=stranger/private.pem", "not a key named in genesis"]),
            (["issue", "--security", "ACME", "--to", "2", "--shares", "5"], "exchange/private.pem", ["--key=exchange/private.pem", "may not submit"]),
            (["issue", "--security", "ACME", "--to", "99", "--shares", "5"], "admin/private.pem", ["to=99", "unknown account"]),
            (["deposit", "--account", "42", "--amount", "5"], "admin/private.pem", ["account=42", "unknown account"]),
            (["issue", "--security", "ACME", "--to", "2", "--shares", "999001"], "admin/private.pem", ["shares=999001", "exceeds authorized"]),
            (["transfer", "--security", "PRIV", "--from", "2", "--to", "3", "--shares", "1"], "admin/private.pem", ["to=3", "not eligible"]),
            (["transfer", "--security", "ACME", "--from", "3", "--to", "2", "--shares", "1"], "admin/private.pem", ["shares=1", "insufficient shares"]),
            (["issue", "--security", "NOPE", "--to", "2", "--shares", "5"], "admin/private.pem", ["--security=NOPE", "unknown security"]),
            (["issue", "--security", "ACME", "--to", "2", "--shares", "5"], "missing/private.pem", ["--key=missing/private.pem"]),
        ]
        for c in cases {
            let r = try fx.admin(c.args, key: c.key, expectSuccess: false)
            #expect(r.status == 1, "\(c.args) with \(c.key): exit \(r.status)")
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(c.args): stderr is not one line: \(r.stderr)")
            for needle in c.mustContain { #expect(r.stderr.contains(needle), "\(c.args): \(r.stderr) lacks \(needle)") }
            #expect(try fx.fingerprint() == before, "\(c.args): the ledger directory changed")
        }
    }

    @Test func walkthroughAppliesAndShows() throws {
        let fx = try CLIFixture()
        defer { fx.cleanUp() }
        let deposit = try fx.admin(["deposit", "--account", "3", "--amount", "250000"])
        #expect(deposit.stdout.hasPrefix("block 5: deposit applied"))
        try fx.admin(["transfer", "--security", "ACME", "--from", "2", "--to", "3", "--shares", "1000"])
        try fx.admin(["split", "--security", "ACME", "--numerator", "3", "--denominator", "2"])
        try fx.admin(["halt", "--security", "ACME"])
        try fx.admin(["resume", "--security", "1"])
        try fx.admin(["redeem", "--security", "ACME", "--from", "3", "--shares", "500"])
        try fx.admin(["withdraw", "--account", "3", "--amount", "50000"])
        try fx.admin(["create-account", "--id", "4", "--name", "Carol", "--eligible"])
        try fx.admin(["update-account", "--id", "4", "--eligible", "true", "--frozen", "true"])
        let holdings = try CLI.run(["ledger", "show", "holdings", "--ledger", "L"], in: fx.dir)
        #expect(holdings.status == 0)
        let lines = holdings.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("ACCOUNT") == true)
        // 4000 × 3/2 = 6000 for Alice, 1000 × 3/2 − 500 = 1000 for Bob.
        #expect(lines.contains { $0.contains("Alice") && $0.contains("ACME") && $0.hasSuffix(" 6000") })
        #expect(lines.contains { $0.contains("Bob") && $0.contains("ACME") && $0.hasSuffix(" 1000") })
        let accounts = try CLI.run(["ledger", "show", "accounts", "--ledger", "L"], in: fx.dir)
        #expect(accounts.stdout.split(separator: "\n").contains { $0.contains("Bob") && $0.hasSuffix(" 200000") })
        let securities = try CLI.run(["ledger", "show", "securities", "--ledger", "L"], in: fx.dir)
        #expect(securities.stdout.contains("1500000") && securities.stdout.contains("7000"))
        let blocks = try CLI.run(["ledger", "show", "blocks", "--ledger", "L"], in: fx.dir)
        #expect(blocks.stdout.split(separator: "\n").count == 2 + 13)
        let movements = try CLI.run(["ledger", "show", "movements", "--ledger", "L"], in: fx.dir)
        let journal = movements.stdout.split(separator: "\n").map(String.init)
        #expect(journal.contains { $0.contains("transfer") && $0.contains("Alice") && $0.hasSuffix("-1000") })
        #expect(journal.contains { $0.contains("transfer") && $0.contains("Bob") && $0.hasSuffix("+1000") })
        #expect(journal.contains { $0.contains("split") && $0.contains("Alice") && $0.hasSuffix("+2000") })
        #expect(journal.contains { $0.contains("withdraw") && $0.contains("cash") && $0.hasSuffix("-50000") })
        let verify = try CLI.run(["ledger", "verify", "--ledger", "L"], in: fx.dir)
        #expect(verify.status == 0 && verify.stdout.contains("height=13") && verify.stdout.contains("snapshot=12"))
    }

    @Test func proofsVerifyAgainstTheCertifiedRootAndTamperingFails() throws {
        let fx = try CLIFixture()
        defer { fx.cleanUp() }
        let proof = try CLI.run(["ledger", "proof", "--ledger", "L", "--account", "2", "--security", "ACME"], in: fx.dir)
        #expect(proof.status == 0, "\(proof.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(proof.stdout.utf8)) as? [String: Any])
        let root = try #require(object["stateRoot"] as? String)
        #expect(object["value"] as? Int == 5000)
        // The root after block 4 is what block 5's header will certify.
        try fx.admin(["deposit", "--account", "3", "--amount", "1"])
        let blocks = try CLI.run(["ledger", "show", "blocks", "--ledger", "L"], in: fx.dir)
        #expect(blocks.stdout.split(separator: "\n").contains { $0.contains(String(root.prefix(16))) })
        try proof.stdout.write(toFile: fx.dir + "/p.json", atomically: true, encoding: .utf8)
        let ok = try CLI.run(["ledger", "verify-proof", "--proof", "p.json", "--state-root", root], in: fx.dir)
        #expect(ok.status == 0 && ok.stdout.contains("holds 5000"), "\(ok.stderr)")
        let tampered = proof.stdout.replacingOccurrences(of: "\"value\" : 5000", with: "\"value\" : 6000")
        try tampered.write(toFile: fx.dir + "/t.json", atomically: true, encoding: .utf8)
        let bad = try CLI.run(["ledger", "verify-proof", "--proof", "t.json", "--state-root", root], in: fx.dir)
        #expect(bad.status == 1 && bad.stderr.contains("does not prove"), "\(bad.stderr)")
        let otherRoot = String(repeating: "0", count: 64)
        let wrongRoot = try CLI.run(["ledger", "verify-proof", "--proof", "p.json", "--state-root", otherRoot], in: fx.dir)
        #expect(wrongRoot.status == 1)
    }

    @Test func keygenRefusesToOverwriteAndProtectsThePrivateKey() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try CLI.run(["keygen", "--out", "k"], in: dir).status == 0)
        let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/k/private.pem")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let original = FileManager.default.contents(atPath: dir + "/k/private.pem")
        let again = try CLI.run(["keygen", "--out", "k"], in: dir)
        #expect(again.status == 1 && again.stderr.contains("already exists"))
        #expect(FileManager.default.contents(atPath: dir + "/k/private.pem") == original)
    }

    @Test func badGenesisIsRejectedWithTheField() throws {
        let fx = try CLIFixture()
        defer { fx.cleanUp() }
        let f1 = try CLI.run(["genesis", "--out", "g2.json", "--member", "1,alpha,addr,m1/public.pem", "--f", "1",
                              "--admin-key", "admin/public.pem", "--exchange-key", "exchange/public.pem"], in: fx.dir)
        #expect(f1.status == 1 && f1.stderr.contains("f=1"), "\(f1.stderr)")
        var text = try String(contentsOfFile: fx.dir + "/genesis.json", encoding: .utf8)
        text = text.replacingOccurrences(of: "\"checkpointInterval\" : 3", with: "\"checkpointInterval\" : \"three\"")
        try text.write(toFile: fx.dir + "/bad.json", atomically: true, encoding: .utf8)
        let r = try CLI.run(["ledger", "init", "--genesis", "bad.json", "--ledger", "L2"], in: fx.dir)
        #expect(r.status == 1 && r.stderr.contains("checkpointInterval") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        text = try String(contentsOfFile: fx.dir + "/genesis.json", encoding: .utf8)
        let exchange = try #require(text.split(separator: "\n").first { $0.contains("exchangeKey") })
        text = text.replacingOccurrences(of: String(exchange), with: "  \"exchangeKey\" : \"zz\",")
        try text.write(toFile: fx.dir + "/bad2.json", atomically: true, encoding: .utf8)
        let r2 = try CLI.run(["ledger", "init", "--genesis", "bad2.json", "--ledger", "L3"], in: fx.dir)
        #expect(r2.status == 1 && r2.stderr.contains("exchangeKey=zz"), "\(r2.stderr)")
    }
}
