// Placeholder so that SwiftPM finds the MatchingTests target declared in Package.swift;
// the tests for this module replace it.
