/* wasm/src/tiny_printf.c compiled natively under other names (disco_tiny_snprintf,
 * disco_tiny_vsnprintf), so the test can call it beside the C library's snprintf. <stdio.h> comes
 * first, so the library's declarations keep their names; the file's own include of it is then a
 * no-op and only its definitions are renamed. */
#include <stdio.h>
#define vsnprintf disco_tiny_vsnprintf
#define snprintf disco_tiny_snprintf
#include "../../wasm/src/tiny_printf.c"
