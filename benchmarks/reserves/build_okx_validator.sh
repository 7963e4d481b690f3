#!/bin/sh
# Build OKX's Go validator (cmd/merklevalidator of github.com/okx/proof-of-reserves) for the
# reserves benchmark, into benchmarks/reserves/out/okx-gopath/bin/merklevalidator.
#
#   benchmarks/reserves/build_okx_validator.sh [CHECKOUT]
#
# CHECKOUT is a checkout of okx/proof-of-reserves (default benchmarks/reserves/out/
# okx-proof-of-reserves). With network access, `go build` in module mode does it all. Offline
# (this machine), it builds in GOPATH mode from Debian's Go packages (apt-get install golang-go
# golang-github-spf13-cobra-dev golang-github-schollz-progressbar-dev
# golang-github-shopspring-decimal-dev) and only the files the validator compiles:
# cmd/merklevalidator/main.go and common/{merklev2,validator,merkle,hexutil,bytes}.go, unchanged.
# Debian's shopspring/decimal is 1.2.0, older than the 1.3.1 OKX requires: v1.3's RoundDown
# (the one method the validator uses that 1.2.0 lacks) is added to a copy, same body as upstream.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "${1:-$here/out/okx-proof-of-reserves}" && pwd)
gopath="$here/out/okx-gopath"
mkdir -p "$gopath/bin"
if [ -f "$src/go.mod" ] && (cd "$src" && go build -o "$gopath/bin/merklevalidator" ./cmd/merklevalidator) 2>/dev/null; then
    echo "built in module mode: $gopath/bin/merklevalidator"
    exit 0
fi
rm -rf "$gopath/src"
mkdir -p "$gopath/src/github.com/okx/proof-of-reserves/cmd/merklevalidator" \
    "$gopath/src/github.com/okx/proof-of-reserves/common" \
    "$gopath/src/github.com/schollz/progressbar" "$gopath/src/github.com/shopspring"
okx="$gopath/src/github.com/okx/proof-of-reserves"
cp "$src/cmd/merklevalidator/main.go" "$okx/cmd/merklevalidator/"
for f in merklev2 validator merkle hexutil bytes; do cp "$src/common/$f.go" "$okx/common/"; done
ln -s /usr/share/gocode/src/github.com/schollz/progressbar "$gopath/src/github.com/schollz/progressbar/v3"
cp -r /usr/share/gocode/src/github.com/shopspring/decimal "$gopath/src/github.com/shopspring/"
rm -f "$gopath/src/github.com/shopspring/decimal/"*_test.go
if ! grep -q "func (d Decimal) RoundDown" "$gopath/src/github.com/shopspring/decimal/"*.go; then
    cat > "$gopath/src/github.com/shopspring/decimal/rounddown_v131.go" <<'GO'
package decimal

// RoundDown rounds the decimal towards zero (shopspring/decimal v1.3.0; Debian ships 1.2.0).
func (d Decimal) RoundDown(places int32) Decimal {
	if d.exp >= -places {
		return d
	}

	rescaled := d.rescale(-places)
	if d.Equal(rescaled) {
		return d
	}
	return rescaled
}
GO
fi
(cd "$okx" && GO111MODULE=off GOPATH="$gopath:/usr/share/gocode" go build -o "$gopath/bin/merklevalidator" ./cmd/merklevalidator)
echo "built in GOPATH mode: $gopath/bin/merklevalidator"
