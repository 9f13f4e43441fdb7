/* The context of a transfer phase: see phase.h. */
#include "phase.h"

#include <stdio.h>
#include <string.h>

#include "replica.h"
#include "store.h"

void phase_init(struct phase *ph, struct replica *r, struct conn *c, struct session_result *res)
{
	*ph = (struct phase){.r = r, .c = c, .res = res};
}

void phase_set_peer(struct phase *ph, const struct msg_hello *peer)
{
	ph->peer_id = peer->replica_id;
	ph->peer_index_id = peer->index_id;
	snprintf(ph->peer_name, sizeof(ph->peer_name), "%s", peer->name);
}

int phase_in_filters(const struct phase *ph, const char *path)
{
	if (ph->nfilters == 0)
		return 1;
	for (size_t i = 0; i < ph->nfilters; i++) {
		const char *f = ph->filters[i];
		size_t n = strlen(f);
		if (!strncmp(path, f, n) && (path[n] == '\0' || path[n] == '/'))
			return 1;
		/* the directories above a filter come along, so that it has somewhere to live */
		size_t m = strlen(path);
		if (m < n && !strncmp(f, path, m) && f[m] == '/')
			return 1;
	}
	return 0;
}

void phase_event(const struct phase *ph, enum session_event ev, const char *path, const char *detail)
{
	if (ph->on_event)
		ph->on_event(ph->arg, ev, path, detail);
}

void phase_writer_name(const struct phase *ph, uint64_t id, char name[REPLICA_NAME_MAX + 1])
{
	if (id == ph->r->id)
		snprintf(name, REPLICA_NAME_MAX + 1, "%s", ph->r->name);
	else if (store_replica_name(ph->r->store, id, name) < 0 || !name[0])
		vv_id_format(name, id);
}
