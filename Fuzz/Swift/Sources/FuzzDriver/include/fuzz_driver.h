// libFuzzer's entry for a program with a main of its own (compiler-rt FuzzerInterface.h).
// SwiftPM names an executable's entry point <module>_main and links main to it; each harness
// defines that symbol and hands over to libFuzzer here (libFuzzer's own main is not linked).
#pragma once
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*test_one_input)(const uint8_t *data, size_t size));
