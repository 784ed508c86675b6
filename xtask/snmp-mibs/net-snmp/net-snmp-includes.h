typedef unsigned long oid;
#define MAX_OID_LEN 128
