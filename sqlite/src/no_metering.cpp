// SPDX-License-Identifier: Apache-2.0
// The WebAssembly metering pass, refused: it is the one part of the Host
// built on libwabt, and Debian ships libwabt only as a static archive built
// without -fPIC, which cannot go into a shared object. Defining meter() here
// keeps the linker from pulling wasm/src/meter.cpp, and libwabt with it, out
// of the archives. WebAssembly plugins without a fuel budget still load; one
// with a budget fails to load with this error.
#include <bulkhead/wasm/meter.hpp>

namespace bulkhead::wasm {

Result<Bytes> meter(ByteView)
{
	return make_error(
		ErrorCode::FailedPrecondition,
		"fuel metering of WebAssembly plugins is not available in the SQLite extension "
		"(libwabt exists only as a non-PIC static library here); load the plugin without a "
		"fuel budget");
}

} // namespace bulkhead::wasm
