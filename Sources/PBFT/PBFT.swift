// The PBFT replica core; see Replica.swift.
