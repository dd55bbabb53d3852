import Cryptography
@testable import Ledger
import Testing

@Suite struct StateTreeTests {
    @Test(arguments: [8, 12, 16])
    func rootIsAFunctionOfBalancesOnly(bits: Int) {
        var rng = SplitMix64(seed: 5)
        var entries: [(UInt64, Int64)] = []
        for _ in 0..<5_000 {
            entries.append((leafKey(account: UInt32.random(in: 1...500, using: &rng), asset: UInt32.random(in: 0...20, using: &rng)),
                            Int64.random(in: 1...1_000_000, using: &rng)))
        }
        var a = StateTree(bucketBits: bits)
        var b = StateTree(bucketBits: bits)
        for (key, value) in entries { a.set(key, value) }
        // Different order, intermediate roots, and a detour through other values and zero.
        for (key, value) in entries.reversed() {
            b.set(key, value &+ 17)
            if Bool.random(using: &rng) { _ = b.root() }
            b.set(key, 0)
        }
        var final: [UInt64: Int64] = [:]
        for (key, value) in entries { final[key] = value }
        for (key, value) in final { b.set(key, value) }
        for (key, value) in final { a.set(key, value) }
        #expect(a.root() == b.root())
        // Incremental equals from scratch.
        var scratch = StateTree(bucketBits: bits)
        for leaf in a.sortedLeaves() { scratch.set(leaf.key, leaf.value) }
        #expect(scratch.root() == a.root())
        // And any change moves the root.
        let before = a.root()
        a.set(entries[0].0, a.get(entries[0].0) + 1)
        #expect(a.root() != before)
        var empty = StateTree(bucketBits: bits)
        #expect(empty.root() != before)
    }

    @Test func proofsVerifyAndTamperingFails() {
        var h = Harness.standard()
        h.settle([Trade(tradeID: 1, buyer: 3, seller: 2, security: 7, shares: 10, price: 5)])
        for i in 10..<300 {
            h.admin(.createAccount(Account(id: AccountID(i), name: "x\(i)", member: 1)))
            h.admin(.issue(security: 7, to: AccountID(i), shares: Int64(i)))
        }
        let root = h.state.stateRoot()
        let proof = h.state.proof(account: 3, asset: 7)
        #expect(proof.value == 10)
        #expect(proof.verify(stateRoot: root))
        let cash = h.state.proof(account: 2, asset: 0)
        #expect(cash.value == 50 && cash.verify(stateRoot: root))
        // Absence: account 3 holds nothing of security 99.
        let absent = h.state.proof(account: 3, asset: 99)
        #expect(absent.value == 0 && absent.verify(stateRoot: root))

        var wrongValue = proof
        wrongValue.value = 11
        #expect(!wrongValue.verify(stateRoot: root))
        var wrongAccount = proof
        wrongAccount.account = 2
        #expect(!wrongAccount.verify(stateRoot: root))
        var wrongPath = proof
        wrongPath.tree.path[2][0] = SHA256.hash("forged")
        wrongPath.tree.path[2][1] = SHA256.hash("forged")
        #expect(!wrongPath.verify(stateRoot: root))
        var wrongEntries = proof
        if let i = wrongEntries.tree.bucketEntries.firstIndex(where: { $0.key == leafKey(account: 3, asset: 7) }) {
            wrongEntries.tree.bucketEntries[i].value = 11
            wrongEntries.value = 11
        }
        #expect(!wrongEntries.verify(stateRoot: root))
        var droppedEntry = proof
        droppedEntry.tree.bucketEntries.removeAll { $0.key == leafKey(account: 3, asset: 7) }
        droppedEntry.value = 0
        #expect(!droppedEntry.verify(stateRoot: root))
        var wrongBits = proof
        wrongBits.tree.bucketBits = 12
        #expect(!wrongBits.verify(stateRoot: root))
        var wrongParts = proof
        wrongParts.parts.settledCount += 1
        #expect(!wrongParts.verify(stateRoot: root))
        #expect(!proof.verify(stateRoot: SHA256.hash("other")))
        // An old proof fails against a newer root.
        h.admin(.deposit(account: 3, amount: 1))
        #expect(!proof.verify(stateRoot: h.state.stateRoot()))
    }

    @Test func treeSizeIsPartOfTheRootAndTheSnapshot() throws {
        var small = Harness.standard()
        var large = Harness()
        large.state = LedgerState(authority: small.state.authority, stateTreeBucketBits: 12)
        small.state = LedgerState(authority: small.state.authority, stateTreeBucketBits: 16)
        for h in [0, 1] {
            var x = h == 0 ? small : large
            x.admin(.createAccount(Account(id: 1, name: "I", member: 1)))
            x.admin(.deposit(account: 1, amount: 5))
            if h == 0 { small = x } else { large = x }
        }
        #expect(small.state.rootParts().treeRoot != large.state.rootParts().treeRoot)
        var chain = LedgerChain(state: large.state, height: 1, headHash: .zero)
        let restored = try LedgerChain.restore(snapshot: chain.snapshot(), authority: large.state.authority)
        #expect(restored.state.stateTreeBucketBits == 12 && restored.stateRoot == chain.stateRoot)
        var proofState = restored.state
        let proof = proofState.proof(account: 1, asset: 0)
        #expect(proof.value == 5 && proof.verify(stateRoot: chain.stateRoot))
        var g = makeGenesis()
        g.stateTreeBucketBits = 14
        let error = #expect(throws: Failure.self) { try g.validate() }
        #expect(error?.field == "stateTreeBucketBits")
    }

    @Test func twoLedgersFedTheSameInputsAgree() throws {
        func run() throws -> (SHA256Digest, SHA256Digest, [SHA256Digest]) {
            var chain = try LedgerChain(genesis: makeGenesis(accounts: [Account(id: 1, name: "I", member: 1)]))
            var roots: [SHA256Digest] = []
            var nonce: UInt64 = 0
            for height in 1...5 {
                var txs: [SignedTransaction] = []
                for i in 0..<3 {
                    nonce += 1
                    let id = AccountID(height * 10 + i)
                    txs.append(try SignedTransaction(body: .createAccount(Account(id: id, name: "a\(id)", member: 1)), nonce: nonce, key: Keys.admin))
                    nonce += 1
                    txs.append(try SignedTransaction(body: .deposit(account: id, amount: Int64(id)), nonce: nonce, key: Keys.admin))
                }
                let block = chain.makeBlock(view: 1, timestamp: Int64(height) * 1_000, transactions: txs)
                roots.append(try chain.execute(block).stateRoot)
            }
            return (chain.headHash, chain.stateRoot, roots)
        }
        let a = try run()
        let b = try run()
        #expect(a.0 == b.0)
        #expect(a.1 == b.1)
        #expect(a.2 == b.2)
        #expect(Set(a.2).count == 5)
    }
}

@Suite struct BlockTests {
    @Test func headerHashCoversEveryField() {
        let base = BlockHeader(height: 1, previousHash: .zero, view: 0, sequence: 1, timestamp: 0, transactionsRoot: .zero, stateRoot: .zero)
        var variants = [base]
        var h = base; h.height = 2; variants.append(h)
        h = base; h.previousHash = SHA256.hash("x"); variants.append(h)
        h = base; h.view = 1; variants.append(h)
        h = base; h.sequence = 2; variants.append(h)
        h = base; h.timestamp = 1; variants.append(h)
        h = base; h.transactionsRoot = SHA256.hash("x"); variants.append(h)
        h = base; h.stateRoot = SHA256.hash("x"); variants.append(h)
        #expect(Set(variants.map(\.hash)).count == variants.count)
    }

    @Test func transactionsRootDependsOnOrderAndContent() throws {
        let txs = try (1...5).map { try SignedTransaction(body: .deposit(account: 1, amount: Int64($0)), nonce: UInt64($0), key: Keys.admin) }
        let root = Block.transactionsRoot(txs)
        #expect(root == Block.transactionsRoot(txs))
        #expect(root != Block.transactionsRoot(Array(txs.reversed())))
        #expect(root != Block.transactionsRoot(Array(txs.dropLast())))
        #expect(root != Block.transactionsRoot(txs + [txs[4]]))
        #expect(Block.transactionsRoot([]) != Block.transactionsRoot([txs[0]]))
    }

    @Test func chainRejectsBadHeadersAndChangesNothing() throws {
        var chain = try LedgerChain(genesis: makeGenesis(accounts: [Account(id: 1, name: "I", member: 1)]))
        let tx = try SignedTransaction(body: .deposit(account: 1, amount: 5), nonce: 1, key: Keys.admin)
        let good = chain.makeBlock(timestamp: 10, transactions: [tx])
        var bad = good; bad.header.previousHash = SHA256.hash("fork")
        #expect(throws: BlockError.self) { try chain.execute(bad) }
        bad = good; bad.header.height = 2
        #expect(throws: BlockError.self) { try chain.execute(bad) }
        bad = good; bad.header.stateRoot = SHA256.hash("lie")
        #expect(throws: BlockError.self) { try chain.execute(bad) }
        bad = good; bad.transactions = []
        #expect(throws: BlockError.self) { try chain.execute(bad) }
        #expect(chain.height == 0)
        let receipt = try chain.execute(good)
        #expect(receipt.statuses == [.applied])
        #expect(chain.height == 1 && chain.headHash == good.hash)
        let next = chain.makeBlock(timestamp: 11, transactions: [])
        #expect(next.header.stateRoot == receipt.stateRoot)
        #expect(next.header.previousHash == good.hash)
    }

    @Test func genesisValidationNamesTheField() {
        var g = makeGenesis()
        g.f = 1
        #expect(throws: Failure.self) { try g.validate() }
        g = makeGenesis(accounts: [Account(id: 1, name: "a", member: 1), Account(id: 1, name: "b", member: 1)])
        let error = #expect(throws: Failure.self) { try g.validate() }
        #expect(error?.field == "accounts[1].account")
        g = makeGenesis()
        g.adminKeys = [Keys.exchange.publicKey]
        #expect(throws: Failure.self) { try g.validate() }
        #expect(throws: Never.self) { try makeGenesis().validate() }
    }
}

@Suite struct SettledTradeSetTests {
    @Test func behavesLikeASetOfIDs() {
        var rng = SplitMix64(seed: 9)
        var model: Set<UInt64> = []
        var set = SettledTradeSet()
        for i in 0..<20_000 {
            // Mostly dense increasing ids, some sparse and some repeats, both ends of the range.
            let id: UInt64 = switch i % 10 {
            case 0: UInt64.random(in: 0...UInt64.max, using: &rng)
            case 1: model.randomElement(using: &rng) ?? 0
            case 2: [0, 63, 64, UInt64.max, UInt64.max - 63][Int.random(in: 0..<5, using: &rng)]
            default: UInt64(i) * 3
            }
            #expect(set.contains(id) == model.contains(id))
            let inserted = set.insert(id)
            #expect(inserted == model.insert(id).inserted)
        }
        #expect(set.count == model.count)
        for id in model.prefix(100) { #expect(set.contains(id)) }
        #expect(!set.contains(1))
        var rebuilt = SettledTradeSet()
        for word in set.sortedWords() {
            let loaded = rebuilt.load(index: word.index, bits: word.bits)
            #expect(loaded)
        }
        #expect(rebuilt == set)
        let empty = rebuilt.load(index: 5, bits: 0)
        #expect(!empty)
    }
}

@Suite struct FinalityTests {
    @Test func twoFPlusOneDistinctMemberSignaturesMakeABlockFinal() throws {
        let memberKeys = (10...13).map { Keys.key(UInt8($0)) }
        var genesis = makeGenesis()
        genesis.members = memberKeys.enumerated().map { i, key in
            Genesis.Member(id: UInt32(i + 1), name: "m\(i + 1)", address: "a", publicKey: key.publicKey)
        }
        genesis.f = 1
        try genesis.validate()
        let chain = try LedgerChain(genesis: genesis)
        let block = chain.makeBlock(view: 3, sequence: 1, timestamp: 5, transactions: [])
        let message = CommitCertificate.signingBytes(view: 3, sequence: 1, blockHash: block.hash)
        func vote(_ i: Int, _ bytes: [UInt8] = message) throws -> CommitCertificate.Vote {
            CommitCertificate.Vote(member: UInt32(i + 1), signature: try memberKeys[i].signature(for: bytes))
        }
        let three = CommitCertificate(view: 3, sequence: 1, blockHash: block.hash, votes: [try vote(0), try vote(1), try vote(2)])
        #expect(genesis.isFinal(block, certificate: three))
        // Two distinct members are not enough, however often one repeats.
        let repeated = CommitCertificate(view: 3, sequence: 1, blockHash: block.hash, votes: [try vote(0), try vote(1), try vote(1)])
        #expect(!genesis.isFinal(block, certificate: repeated))
        // A signature over another view, an unknown member, a different block.
        let other = CommitCertificate.signingBytes(view: 4, sequence: 1, blockHash: block.hash)
        let wrongView = CommitCertificate(view: 3, sequence: 1, blockHash: block.hash, votes: [try vote(0), try vote(1), try vote(2, other)])
        #expect(!genesis.isFinal(block, certificate: wrongView))
        var stranger = try vote(2)
        stranger.member = 99
        #expect(!genesis.isFinal(block, certificate: CommitCertificate(view: 3, sequence: 1, blockHash: block.hash, votes: [try vote(0), try vote(1), stranger])))
        let otherBlock = chain.makeBlock(view: 3, sequence: 1, timestamp: 6, transactions: [])
        #expect(!genesis.isFinal(otherBlock, certificate: three))
    }
}
