// Placeholder so that SwiftPM finds the LedgerTests target declared in Package.swift;
// the tests for this module replace it.
