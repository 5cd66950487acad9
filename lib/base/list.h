/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * list.h - the library's one intrusive doubly linked list.
 *
 * A list is a circular chain through a head: an empty list's head points
 * at itself, so insertion and removal never test for the ends.  A node
 * is embedded in the object it links (struct sf_list member) and the
 * object is found again with sf_list_entry().  No locking: whoever owns
 * the list says which lock protects it, next to the member.
 */
#ifndef SF_SRC_LIST_H
#define SF_SRC_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct sf_list {
	struct sf_list *next, *prev;
};

static inline void sf_list_init(struct sf_list *head)
{
	head->next = head->prev = head;
}

static inline bool sf_list_empty(const struct sf_list *head)
{
	return head->next == head;
}

static inline void sf_list_insert(struct sf_list *n, struct sf_list *prev,
				  struct sf_list *next)
{
	n->prev = prev;
	n->next = next;
	prev->next = n;
	next->prev = n;
}

/* @n becomes the first node of @head. */
static inline void sf_list_add(struct sf_list *n, struct sf_list *head)
{
	sf_list_insert(n, head, head->next);
}

/* @n becomes the last node of @head. */
static inline void sf_list_add_tail(struct sf_list *n, struct sf_list *head)
{
	sf_list_insert(n, head->prev, head);
}

/* Take @n out of its list; @n is then a list of its own (empty). */
static inline void sf_list_del(struct sf_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	sf_list_init(n);
}

#define sf_list_entry(node, type, member) \
	((type *)(void *)((char *)(node) - offsetof(type, member)))

/* The first object of a list that is not empty. */
#define sf_list_first(head, type, member) \
	sf_list_entry((head)->next, type, member)

/* Every object of @head, first to last: @pos is a pointer to @type. */
#define sf_list_for_each(pos, head, type, member)			\
	for (pos = sf_list_entry((head)->next, type, member);		\
	     &pos->member != (head);					\
	     pos = sf_list_entry(pos->member.next, type, member))

/* The same, @pos may be taken out of the list: @n holds the next one. */
#define sf_list_for_each_safe(pos, n, head, type, member)		\
	for (pos = sf_list_entry((head)->next, type, member),		\
	     n = sf_list_entry(pos->member.next, type, member);		\
	     &pos->member != (head);					\
	     pos = n, n = sf_list_entry(n->member.next, type, member))

#endif /* SF_SRC_LIST_H */
