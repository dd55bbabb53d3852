#!/bin/sh
# Builds the libFuzzer target for the ledger decoders into .build/fuzz/ledger-decoder-fuzz.
# Two modules, as in the package: Cryptography (over libcrypto), then Ledger with the
# fuzz entry point. Run from the repository root.
set -eu
root=$(pwd)
out="$root/.build/fuzz"
mkdir -p "$out"
cd "$out"
flags="-sanitize=fuzzer,address -parse-as-library -O -g -I $root/Sources/COpenSSL"
swiftc $flags -wmo -module-name Cryptography -emit-module -emit-module-path Cryptography.swiftmodule \
    -c "$root"/Sources/Cryptography/*.swift -o Cryptography.o
swiftc $flags -wmo -module-name Ledger -I "$out" \
    -c "$root"/Sources/Ledger/*.swift "$root/Ops/fuzz/DecoderFuzz.swift" -o Ledger.o
swiftc -sanitize=fuzzer,address Cryptography.o Ledger.o -lcrypto -o ledger-decoder-fuzz
echo "built $out/ledger-decoder-fuzz"
