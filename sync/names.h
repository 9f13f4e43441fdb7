/*
 * The size of a replica's name, in one place: the store, the wire, the
 * replica and conflict-copy names all hold one (a leaf header, so that
 * each can include it without including the others).
 */
#ifndef MMSYNC_NAMES_H
#define MMSYNC_NAMES_H

/* Bytes of a replica's name, without the NUL. */
#define REPLICA_NAME_MAX 64

#endif
