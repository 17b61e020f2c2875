/* Wine 8 (Debian 12) has no bcryptprimitives.dll, and Rust's standard library (1.78 and later) takes its random
   numbers from ProcessPrng there. This stand-in answers ProcessPrng from RtlGenRandom (advapi32's
   SystemFunction036), which Wine has. Only for running the Windows build under Wine (scripts/windows.sh). */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
