import Cryptography
import Ledger

/// Why the mirror stopped. These are not retried: the database and the ledger
/// disagree about history, and writing anything would make it worse.
package struct MirrorError: Error, Equatable, Sendable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

/// What one pass wrote.
package struct MirrorProgress: Equatable, Sendable {
    /// Blocks written by this pass.
    package var blocks = 0
    /// Rows written by COPY (blocks, transactions, trades, movements).
    package var rows = 0
    /// Watermark after the pass.
    package var height: UInt64 = 0
    /// Blocks the ledger directory holds.
    package var ledgerHeight: UInt64 = 0

    package var lag: UInt64 { ledgerHeight > height ? ledgerHeight - height : 0 }
}

/// Mirrors the finalized blocks of a ledger directory into PostgreSQL.
///
/// The movement journal is not in the block store; it is derived by executing
/// each block with movement recording on a private copy of the chain, which
/// also re-checks every stored receipt (state root and statuses) before a row
/// is written. Each batch of blocks goes in one PostgreSQL transaction that
/// locks the watermark row, checks it is still where this mirror found it,
/// writes every row and advances it: a crash of either side leaves the
/// database at a batch boundary, and the next pass resumes from there.
package final class LedgerMirror {
    package let ledgerDirectory: String
    package let genesis: Genesis
    package var batchBlocks: Int
    /// The ledger state at the watermark, kept between passes; nil until the
    /// first pass replays up to the watermark.
    private var chain: LedgerChain?
    /// Height of the snapshot the last replay started from (0: genesis or kept state).
    package private(set) var restoredFromSnapshot: UInt64 = 0

    package init(ledgerDirectory: String, genesis: Genesis, batchBlocks: Int = 200) {
        self.ledgerDirectory = ledgerDirectory
        self.genesis = genesis
        self.batchBlocks = max(1, batchBlocks)
    }

    /// Mirrors every block the directory holds above the watermark, batch by
    /// batch. Throws `MirrorError` when history disagrees (nothing written for
    /// that batch), `PostgresError` when the database fails (the batch rolled back).
    @discardableResult
    package func mirrorAvailable(into connection: PostgresConnection, through limit: UInt64? = nil) throws -> MirrorProgress {
        let store: BlockStore
        do { store = try BlockStore(directory: ledgerDirectory + "/blocks", readOnly: true) } catch {
            throw MirrorError("--data=\(ledgerDirectory): \(error)")
        }
        var progress = MirrorProgress()
        progress.ledgerHeight = UInt64(store.count)
        let mark = try Watermark.read(connection, genesis: genesis)
        progress.height = mark.height
        guard mark.height <= progress.ledgerHeight else {
            throw MirrorError("mirror_watermark.height=\(mark.height): the ledger at \(ledgerDirectory) has only \(store.count) blocks; the database mirrors another ledger")
        }
        var current = try replay(store, to: mark.height)
        guard current.headHash == mark.hash else {
            throw MirrorError("mirror_watermark.block_hash=\(mark.hash.hex): the ledger's block \(mark.height) has hash \(current.headHash.hex); the database mirrors another chain, nothing written")
        }
        let target = min(progress.ledgerHeight, limit ?? progress.ledgerHeight)
        while current.height < target {
            let (written, last) = try writeBatch(from: &current, through: min(target, current.height + UInt64(batchBlocks)),
                                                 store: store, connection: connection)
            chain = current
            progress.blocks = Int(last - mark.height)
            progress.rows += written
            progress.height = last
        }
        return progress
    }

    /// The ledger replayed to `height` from the directory, read-only.
    package func chain(at height: UInt64) throws -> LedgerChain {
        let store: BlockStore
        do { store = try BlockStore(directory: ledgerDirectory + "/blocks", readOnly: true) } catch {
            throw MirrorError("--data=\(ledgerDirectory): \(error)")
        }
        guard height <= UInt64(store.count) else {
            throw MirrorError("mirror_watermark.height=\(height): the ledger at \(ledgerDirectory) has only \(store.count) blocks")
        }
        return try replay(store, to: height)
    }

    /// The chain at `height`: kept from the last pass when it is there, else from
    /// the newest usable snapshot at or below it, else replayed from genesis.
    private func replay(_ store: BlockStore, to height: UInt64) throws -> LedgerChain {
        var current: LedgerChain
        if let chain, chain.height <= height {
            current = chain
        } else if let restored = LedgerNode.newestSnapshot(in: ledgerDirectory, genesis: genesis, atOrBelow: height, headHash: { at in
            (try? read(store, height: at))?.block.hash
        }) {
            current = restored
            restoredFromSnapshot = restored.height
        } else {
            do { current = try LedgerChain(genesis: genesis) } catch { throw MirrorError("genesis: \(error)") }
        }
        while current.height < height {
            let stored = try read(store, height: current.height + 1)
            do { _ = try current.execute(stored.block) } catch {
                throw MirrorError("block \(current.height + 1): \(error)")
            }
        }
        chain = current
        return current
    }

    private func read(_ store: BlockStore, height: UInt64) throws -> StoredBlock {
        do { return try StoredBlock.decode(try store.read(Int(height) - 1)) } catch {
            throw MirrorError("--data=\(ledgerDirectory): block \(height): \(error)")
        }
    }

    /// A batch also ends once it holds this many rows, so that a run of large
    /// blocks (5,000 trades make 25,000 rows) does not buffer gigabytes.
    package var batchRowLimit = 250_000

    /// Executes blocks current.height+1 … `limit` (fewer past `batchRowLimit`
    /// rows) on a copy, then writes them in one transaction; returns the rows
    /// and the last height written. `current` advances only after COMMIT.
    private func writeBatch(from current: inout LedgerChain, through limit: UInt64, store: BlockStore,
                            connection: PostgresConnection) throws -> (rows: Int, last: UInt64) {
        let startHeight = current.height
        let startHash = current.headHash
        var trial = current
        var rows = Rows()
        var touchedAccounts = Set<AccountID>()
        var touchedSecurities = Set<SecurityID>()
        var touchedBalances = Set<UInt64>()
        if startHeight == 0 {
            touchedAccounts.formUnion(trial.state.accounts.keys)
            touchedSecurities.formUnion(trial.state.securities.keys)
        }
        var last = startHeight
        while last < limit, last == startHeight || rows.count < batchRowLimit {
            last += 1
            let height = last
            let stored = try read(store, height: height)
            let header = stored.block.header
            guard header.previousHash == trial.headHash else {
                throw MirrorError("block \(height): previous hash \(header.previousHash.hex) does not chain to block \(height - 1) hash \(trial.headHash.hex); nothing written")
            }
            let executed: (receipt: Receipt, movements: [[Movement]])
            do { executed = try trial.executeRecordingMovements(stored.block) } catch {
                throw MirrorError("block \(height): \(error); nothing written")
            }
            guard executed.receipt == stored.receipt else {
                throw MirrorError("block \(height): executing it gives state root \(executed.receipt.stateRoot.hex), the stored receipt says \(stored.receipt.stateRoot.hex); nothing written")
            }
            rows.add(stored, movements: executed.movements, accounts: &touchedAccounts, securities: &touchedSecurities,
                     balances: &touchedBalances)
        }
        let state = trial.state
        let endHash = trial.headHash
        let written = try connection.transaction { () throws -> Int in
            try Watermark.lock(connection, expectedHeight: startHeight, expectedHash: startHash)
            var count = 0
            count += try connection.copy("COPY blocks (height, hash, previous_hash, header_version, view, sequence, time_us, transactions_root, state_root, result_state_root, certificate) FROM STDIN", data: rows.blocks.bytes)
            count += try connection.copy("COPY transactions (height, tx_index, kind, status, failure_reason, failure_field, failure_value, nonce, signer, payload) FROM STDIN", data: rows.transactions.bytes)
            for id in touchedAccounts.sorted() {
                guard let a = state.accounts[id] else { continue }
                try connection.query("""
                    INSERT INTO accounts (account_id, name, member, eligible, frozen) VALUES ($1, $2, $3, $4, $5)
                    ON CONFLICT (account_id) DO UPDATE SET name = EXCLUDED.name, member = EXCLUDED.member,
                        eligible = EXCLUDED.eligible, frozen = EXCLUDED.frozen
                    """, [String(a.id), a.name, String(a.member), String(a.eligible), String(a.frozen)])
            }
            for id in touchedSecurities.sorted() {
                guard let s = state.securities[id] else { continue }
                try connection.query("""
                    INSERT INTO securities (security_id, symbol, name, issuer, share_class, authorized, issued, cash_per_tick,
                                            lot_size, restriction, halted)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                    ON CONFLICT (security_id) DO UPDATE SET symbol = EXCLUDED.symbol, name = EXCLUDED.name,
                        issuer = EXCLUDED.issuer, share_class = EXCLUDED.share_class, authorized = EXCLUDED.authorized,
                        issued = EXCLUDED.issued, cash_per_tick = EXCLUDED.cash_per_tick, lot_size = EXCLUDED.lot_size,
                        restriction = EXCLUDED.restriction, halted = EXCLUDED.halted
                    """, [String(s.id), s.symbol, s.name, String(s.issuer), s.shareClass, String(s.authorized), String(s.issued),
                          String(s.cashPerTick), String(s.lotSize), s.restriction.description, String(s.halted)])
            }
            count += try connection.copy("COPY trades (height, tx_index, trade_index, trade_id, batch_id, security_id, buyer, seller, shares, price, buy_order_id, sell_order_id, matched_at_us, settled_at_us, status, failure_reason) FROM STDIN", data: rows.trades.bytes)
            count += try connection.copy("COPY holding_movements (height, tx_index, movement_index, account_id, security_id, delta, kind, trade_id) FROM STDIN", data: rows.holdingMovements.bytes)
            count += try connection.copy("COPY cash_movements (height, tx_index, movement_index, account_id, delta, kind, trade_id) FROM STDIN", data: rows.cashMovements.bytes)
            try writeBalances(touchedBalances, state: state, connection: connection)
            try Watermark.advance(connection, height: last, hash: endHash, genesis: genesis)
            return count
        }
        current = trial
        return (written, last)
    }

    /// Current holdings and cash of every (account, asset) the batch touched:
    /// staged by COPY, then one upsert and one delete (zero is not stored).
    private func writeBalances(_ keys: Set<UInt64>, state: LedgerState, connection: PostgresConnection) throws {
        guard !keys.isEmpty else { return }
        var stage = CopyBuffer(capacity: keys.count * 24)
        for key in keys.sorted() {
            let account = AccountID(truncatingIfNeeded: key >> 32)
            let asset = SecurityID(truncatingIfNeeded: key)
            stage.int(account); stage.int(asset)
            stage.int(asset == 0 ? state.cash(account) : state.holding(account, asset))
            stage.endRow()
        }
        try connection.query("CREATE TEMP TABLE mirror_stage_balances (account_id bigint, asset bigint, value bigint) ON COMMIT DROP")
        try connection.copy("COPY mirror_stage_balances FROM STDIN", data: stage.bytes)
        try connection.query("""
            DELETE FROM holdings h USING mirror_stage_balances s
            WHERE s.asset <> 0 AND s.value = 0 AND h.account_id = s.account_id AND h.security_id = s.asset
            """)
        try connection.query("""
            INSERT INTO holdings (account_id, security_id, shares)
            SELECT account_id, asset, value FROM mirror_stage_balances WHERE asset <> 0 AND value <> 0
            ON CONFLICT (account_id, security_id) DO UPDATE SET shares = EXCLUDED.shares
            """)
        try connection.query("""
            DELETE FROM cash_balances c USING mirror_stage_balances s
            WHERE s.asset = 0 AND s.value = 0 AND c.account_id = s.account_id
            """)
        try connection.query("""
            INSERT INTO cash_balances (account_id, amount)
            SELECT account_id, value FROM mirror_stage_balances WHERE asset = 0 AND value <> 0
            ON CONFLICT (account_id) DO UPDATE SET amount = EXCLUDED.amount
            """)
    }
}

/// The COPY payloads of one batch.
private struct Rows {
    var blocks = CopyBuffer()
    var transactions = CopyBuffer()
    var trades = CopyBuffer()
    var holdingMovements = CopyBuffer()
    var cashMovements = CopyBuffer()

    var count: Int { blocks.rows + transactions.rows + trades.rows + holdingMovements.rows + cashMovements.rows }

    mutating func add(_ stored: StoredBlock, movements: [[Movement]], accounts: inout Set<AccountID>,
                      securities: inout Set<SecurityID>, balances: inout Set<UInt64>) {
        let header = stored.block.header
        let height = header.height
        blocks.int(height); blocks.bytea(header.hash.bytes); blocks.bytea(header.previousHash.bytes)
        blocks.int(CodecLimits.version); blocks.int(header.view); blocks.int(header.sequence); blocks.int(header.timestamp)
        blocks.bytea(header.transactionsRoot.bytes); blocks.bytea(header.stateRoot.bytes); blocks.bytea(stored.receipt.stateRoot.bytes)
        if let certificate = stored.certificate {
            var w = ByteWriter(capacity: 256)
            certificate.encode(into: &w)
            blocks.bytea(w.bytes)
        } else {
            blocks.null()
        }
        blocks.endRow()

        for (index, tx) in stored.block.transactions.enumerated() {
            let status = index < stored.receipt.statuses.count ? stored.receipt.statuses[index] : .applied
            transactions.int(height); transactions.int(index); transactions.text(tx.body.kindName)
            switch status {
            case .applied: transactions.text("applied"); transactions.null(); transactions.null(); transactions.null()
            case .settled: transactions.text("settled"); transactions.null(); transactions.null(); transactions.null()
            case let .rejected(failure):
                transactions.text("rejected"); transactions.text(failure.reason.description)
                transactions.text(failure.field); transactions.text(failure.value)
            }
            transactions.int(tx.nonce); transactions.bytea(tx.signer); transactions.bytea(tx.encoded)
            transactions.endRow()

            if status.isSuccess {
                switch tx.body {
                case let .createAccount(account): accounts.insert(account.id)
                case let .updateAccount(id, _, _): accounts.insert(id)
                case let .createSecurity(security): securities.insert(security.id)
                case let .issue(security, _, _), let .redeem(security, _, _), let .split(security, _, _),
                     let .halt(security), let .resume(security):
                    securities.insert(security)
                default: break
                }
            }
            if case let .settle(batchID, list) = tx.body {
                var failures: [UInt32: Failure] = [:]
                var rejected: Failure?
                switch status {
                case let .settled(_, failed): for f in failed { failures[f.index] = f.failure }
                case let .rejected(failure): rejected = failure
                case .applied: break
                }
                for (i, t) in list.enumerated() {
                    trades.int(height); trades.int(index); trades.int(i); trades.int(t.tradeID); trades.int(batchID)
                    trades.int(t.security); trades.int(t.buyer); trades.int(t.seller); trades.int(t.shares); trades.int(t.price)
                    trades.int(t.buyOrderID); trades.int(t.sellOrderID); trades.int(t.matchTime)
                    if let failure = rejected ?? failures[UInt32(i)] {
                        trades.null(); trades.text("failed"); trades.text(failure.description)
                    } else {
                        trades.int(header.timestamp); trades.text("settled"); trades.null()
                    }
                    trades.endRow()
                }
            }
            guard index < movements.count else { continue }
            for (m, movement) in movements[index].enumerated() {
                balances.insert(UInt64(movement.account) << 32 | UInt64(movement.asset))
                if movement.asset == 0 {
                    cashMovements.int(height); cashMovements.int(index); cashMovements.int(m)
                    cashMovements.int(movement.account); cashMovements.int(movement.delta); cashMovements.text(movement.kind.description)
                    if movement.tradeID != 0 { cashMovements.int(movement.tradeID) } else { cashMovements.null() }
                    cashMovements.endRow()
                } else {
                    holdingMovements.int(height); holdingMovements.int(index); holdingMovements.int(m)
                    holdingMovements.int(movement.account); holdingMovements.int(movement.asset); holdingMovements.int(movement.delta)
                    holdingMovements.text(movement.kind.description)
                    if movement.tradeID != 0 { holdingMovements.int(movement.tradeID) } else { holdingMovements.null() }
                    holdingMovements.endRow()
                }
            }
        }
    }
}

/// The one-row `mirror_watermark` table.
package struct Watermark: Equatable, Sendable {
    package var height: UInt64
    package var hash: SHA256Digest

    /// Height 0 and the genesis hash when nothing was mirrored yet. A watermark
    /// written for another genesis is refused.
    package static func read(_ connection: PostgresConnection, genesis: Genesis) throws -> Watermark {
        let result = try connection.query("SELECT height, block_hash, genesis_hash FROM mirror_watermark")
        guard let row = result.rows.first else { return Watermark(height: 0, hash: genesis.hash) }
        let theirs = try digest(row[2], field: "mirror_watermark.genesis_hash")
        guard theirs == genesis.hash else {
            throw MirrorError("mirror_watermark.genesis_hash=\(theirs.hex): this ledger's genesis hash is \(genesis.hash.hex); the database mirrors another ledger")
        }
        guard let text = row[0], let height = UInt64(text) else {
            throw MirrorError("mirror_watermark.height=\(row[0] ?? "NULL"): not a height")
        }
        return Watermark(height: height, hash: try digest(row[1], field: "mirror_watermark.block_hash"))
    }

    /// Inside the batch transaction: locks the row and requires it to be where
    /// the batch started, so two mirrors on one database cannot both write a batch.
    static func lock(_ connection: PostgresConnection, expectedHeight: UInt64, expectedHash: SHA256Digest) throws {
        let result = try connection.query("SELECT height, block_hash FROM mirror_watermark FOR UPDATE")
        let height = result.rows.first.flatMap { $0[0] }.flatMap { UInt64($0) } ?? 0
        let hash = try result.rows.first.map { try digest($0[1], field: "mirror_watermark.block_hash") }
        guard height == expectedHeight, hash == nil || hash == expectedHash else {
            throw MirrorError("mirror_watermark.height=\(height): expected \(expectedHeight); another mirror wrote to this database, nothing written")
        }
    }

    static func advance(_ connection: PostgresConnection, height: UInt64, hash: SHA256Digest, genesis: Genesis) throws {
        try connection.query("""
            INSERT INTO mirror_watermark (singleton, height, block_hash, genesis_hash) VALUES (true, $1, $2::bytea, $3::bytea)
            ON CONFLICT (singleton) DO UPDATE SET height = EXCLUDED.height, block_hash = EXCLUDED.block_hash, updated_at = now()
            """, [String(height), byteaLiteral(hash.bytes), byteaLiteral(genesis.hash.bytes)])
    }

    static func digest(_ text: String?, field: String) throws -> SHA256Digest {
        guard let text, text.hasPrefix("\\x"), let digest = try? SHA256Digest(hex: String(text.dropFirst(2))) else {
            throw MirrorError("\(field)=\(text ?? "NULL"): not a 32-byte hash")
        }
        return digest
    }
}

/// bytea in PostgreSQL's hex input form, for a text-format bind parameter.
package func byteaLiteral(_ bytes: [UInt8]) -> String { "\\x" + Hex.encode(bytes) }
