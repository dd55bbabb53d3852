// Placeholder so that SwiftPM finds the clearledgerTests target declared in Package.swift;
// the tests for this module replace it.
