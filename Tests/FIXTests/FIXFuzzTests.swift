import Testing
@testable import FIX

/// SplitMix64: tiny, seedable, the same on every platform.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct FIXFuzzTests {
    static let corpus: [[UInt8]] = [
        frame(newOrderBody),
        frame("35=A|49=CLIENT1|56=CLEARLEDGER|34=1|52=\(sampleTime)|98=0|108=30|141=Y|553=u|554=p|"),
        frame("35=2|49=CLIENT1|56=CLEARLEDGER|34=3|52=\(sampleTime)|7=1|16=0|"),
        frame("35=4|49=CLIENT1|56=CLEARLEDGER|34=3|43=Y|52=\(sampleTime)|122=\(sampleTime)|123=Y|36=9|"),
        frame(newOrderBody + "453=2|448=P1|447=D|452=3|448=P2|447=D|452=4|"),
        FIXEncoder.encode(report(7), header: FIXHeader(senderCompID: "A", targetCompID: "B", msgSeqNum: 9, sendingTime: sampleNanos)),
    ]

    static func mutate(_ input: [UInt8], _ rng: inout SeededGenerator) -> [UInt8] {
        var b = input
        let interesting: [UInt8] = [0x01, UInt8(ascii: "="), UInt8(ascii: "0"), UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), 0x00, 0xFF, UInt8(ascii: "Y")]
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            switch Int.random(in: 0..<9, using: &rng) {
            case 0 where !b.isEmpty:
                let i = Int.random(in: 0..<b.count, using: &rng)
                b[i] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
            case 1 where !b.isEmpty:
                b[Int.random(in: 0..<b.count, using: &rng)] = interesting.randomElement(using: &rng)!
            case 2:
                b.insert(interesting.randomElement(using: &rng)!, at: Int.random(in: 0...b.count, using: &rng))
            case 3 where !b.isEmpty:
                b.remove(at: Int.random(in: 0..<b.count, using: &rng))
            case 4:
                b = Array(b.prefix(Int.random(in: 0...b.count, using: &rng)))
            case 5:
                let other = corpus.randomElement(using: &rng)!
                let cut = Int.random(in: 0...min(b.count, other.count), using: &rng)
                b = Array(b.prefix(cut) + other.suffix(other.count - cut))
            case 6:
                b = (0..<Int.random(in: 0..<200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 7 where b.count > 10:
                // Duplicate a slice (repeats tags, breaks lengths).
                let i = Int.random(in: 0..<(b.count - 5), using: &rng)
                b.insert(contentsOf: b[i..<(i + 5)], at: i)
            default:
                b = reseal(b)
            }
        }
        // Half the time, fix BodyLength and CheckSum so mutations reach the
        // field rules and the session instead of stopping at the checksum.
        return Bool.random(using: &rng) ? reseal(b) : b
    }

    static func reseal(_ b: [UInt8]) -> [UInt8] {
        guard let open = b.firstIndex(of: UInt8(ascii: "3")), b.count > 8 else { return b }
        var body = Array(b[open...])
        if let trailer = body.lastIndex(where: { $0 == 0x01 }), trailer > 7 {
            body = Array(body[..<(trailer - 6)])
        }
        var out = wire("8=FIX.4.4|9=\(body.count)|") + body
        FIXEncoder.appendCheckSum(to: &out)
        return out
    }

    @Test(arguments: [UInt64(1), 2, 3, 0xC1EA_41ED])
    func mutatedInputNeverCrashes(seed: UInt64) {
        print("FIX fuzz seed \(seed)")
        var rng = SeededGenerator(seed: seed)
        let decoder = FIXDecoder()
        var acceptor = FIXSession(configuration: SessionLink.configuration(.acceptor), verifier: SessionLink.verifier)
        var decoded = 0, rejected = 0, garbled = 0
        for iteration in 0..<5_000 {
            let input = Self.mutate(Self.corpus.randomElement(using: &rng)!, &rng)
            // Framer: results must stay within the input.
            switch FIXFramer.frame(input) {
            case .frame(let n):
                if n > input.count || n <= 0 { Issue.record("seed \(seed) iteration \(iteration): frame length \(n) of \(input.count)") }
            case .garbled(let n):
                if n > input.count || n <= 0 { Issue.record("seed \(seed) iteration \(iteration): discard \(n) of \(input.count)") }
            case .needMoreBytes, .tooLarge:
                break
            }
            do {
                let m = try decoder.decode(input)
                decoded += 1
                // Every decoded value lies inside the frame.
                for f in m.fields where f.valueRange.upperBound > m.bytes.count || f.valueRange.lowerBound > f.valueRange.upperBound {
                    Issue.record("seed \(seed) iteration \(iteration): field \(f.tag) out of bounds")
                }
                _ = try? NewOrderSingle(parsing: m)
                _ = try? ExecutionReport(parsing: m)
                _ = try? Logon(parsing: m)
                _ = try? SequenceReset(parsing: m)
                _ = try? ResendRequest(parsing: m)
            } catch {
                if error.disposition == .reject { rejected += 1 } else { garbled += 1 }
            }
            // And through a session, reconnecting whenever it drops us.
            if acceptor.status == .disconnected { _ = acceptor.connected(now: sampleNanos) }
            _ = acceptor.received(input, now: sampleNanos)
        }
        print("FIX fuzz seed \(seed): \(decoded) decoded, \(rejected) rejects, \(garbled) garbled/dropped")
        #expect(decoded + rejected + garbled == 5_000)
    }

    @Test func streamOfMutatedFramesNeverStallsTheFramer() {
        var rng = SeededGenerator(seed: 42)
        var stream: [UInt8] = []
        for _ in 0..<500 {
            let f = Self.corpus.randomElement(using: &rng)!
            stream += Bool.random(using: &rng) ? f : Self.mutate(f, &rng)
        }
        var offset = 0
        var frames = 0
        var steps = 0
        while offset < stream.count {
            steps += 1
            if steps > stream.count + 10 { Issue.record("framer made no progress at \(offset)"); break }
            let rest = Array(stream[offset...])
            switch FIXFramer.frame(rest) {
            case .frame(let n): offset += n; frames += 1
            case .garbled(let n): offset += n
            case .tooLarge: offset += 1
            case .needMoreBytes: offset = stream.count
            }
        }
        #expect(frames >= 200)
    }
}
