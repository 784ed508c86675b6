/* Stub of NUT's common.h: the same stub as main.h (see main.h). */
#include "main.h"
