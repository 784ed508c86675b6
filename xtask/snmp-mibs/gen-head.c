/* Prints NUT's snmp-ups mapping tables (mib2nut[] of drivers/snmp-ups.c) as tab-separated
 * lines; see gen.sh. NULL is printed as \N. Pointers (lookup tables, functions) are
 * printed as addresses that gen.sh turns into symbol names. */
#include "main.h"
#include "snmp-ups.h"
static void s(const char *v) {
	putchar('\t');
	if (!v) { fputs("\\N", stdout); return; }
	for (; *v; v++) {
		if (*v == '\t') fputs("\\t", stdout);
		else if (*v == '\n') fputs("\\n", stdout);
		else if (*v == '\\') fputs("\\\\", stdout);
		else putchar(*v);
	}
}
static void p(const void *v) { if (v) printf("\t@%lx", (unsigned long)(uintptr_t)v); else fputs("\t\\N", stdout); }
extern char __executable_start[], _end[];
static int inside(const void *v) { return (const char *)v >= __executable_start && (const char *)v < _end; }
static const void *seen[4096]; static int nseen;
static void lkp(info_lkp_t *t) {
	int i;
	if (!t) return;
	for (i = 0; i < nseen; i++) if (seen[i] == t) return;
	if (nseen < 4096) seen[nseen++] = t;
	/* Some of NUT's tables lack their terminator (apc-mib.c's apcc_transfer_reasons):
	 * stop at a pointer outside the program; gen.sh drops rows past the table's size. */
	for (; t->info_value != NULL && inside(t->info_value); t++) {
		fputs("lkp", stdout); p(seen[nseen - 1]); p(t); printf("\t%d", t->oid_value); s(t->info_value);
		p((const void *)(uintptr_t)t->fun_vp2s); p((const void *)(uintptr_t)t->nuf_s2l); putchar('\n');
	}
}
int main(void) {
	mib2nut_info_t **m;
	for (m = mib2nut; *m; m++) {
		snmp_info_t *i; alarms_info_t *a;
		fputs("mib", stdout); s((*m)->mib_name); s((*m)->mib_version); s((*m)->oid_pwr_status);
		s((*m)->oid_auto_check); s((*m)->sysOID); putchar('\n');
		for (i = (*m)->snmp_info; i && i->info_type; i++) {
			fputs("info", stdout); s(i->info_type); printf("\t%d\t%.17g", i->info_flags, i->info_len);
			s(i->OID); s(i->dfl); printf("\t%lu", (unsigned long)i->flags); p(i->oid2info); putchar('\n');
			lkp(i->oid2info);
		}
		for (a = (*m)->alarms_info; a && (a->OID || a->status_value || a->alarm_value); a++) {
			fputs("alarm", stdout); s(a->OID); s(a->status_value); s(a->alarm_value); putchar('\n');
		}
	}
	return 0;
}
