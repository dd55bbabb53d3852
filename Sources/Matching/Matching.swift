// The matching engine lives here; see MatchingEngine.swift.
