#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hyperdht_fuzz_targets::secret_stream::run(data));
