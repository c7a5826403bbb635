/* A small text table: rows of cells, printed with aligned columns (terminal)
 * or as a Markdown table. Cells are copied. */
#ifndef FLATLINE_REPORTS_TABLE_H
#define FLATLINE_REPORTS_TABLE_H

#include <stdbool.h>
#include <stdio.h>

#define FL_TABLE_MAX_COLS 16

typedef struct fl_table {
    int ncols;
    size_t nrows, cap;
    char **cells; /* nrows x ncols */
    char *colour; /* per row: 0 none, 'g' green, 'r' red, 'y' yellow; 'n' a note (fl_table_note) */
} fl_table;

void fl_table_init(fl_table *t, int ncols);
void fl_table_free(fl_table *t);
/* Appends a row of ncols strings (NULL = empty). Returns -1 on ENOMEM. */
int fl_table_row(fl_table *t, const char *const *cells, char colour);
/* A line of its own under the previous row (not a column, does not widen
 * any): printed wrapped at FL_TABLE_NOTE_COLUMNS (fl_write_wrapped, indent
 * 4), left out of Markdown. */
int fl_table_note(fl_table *t, const char *text);
/* text and a newline, lines at most width columns: broken at blanks (its
 * own blanks kept, the one at a break dropped), continuation lines indented
 * by indent. A word longer than a line is written whole on a line of its own. */
void fl_write_wrapped(FILE *out, const char *text, size_t width, size_t indent);
#define FL_TABLE_NOTE_COLUMNS 80
/* Columns padded to the widest cell; colour (ANSI) only when asked. */
void fl_table_print(const fl_table *t, FILE *out, bool colour);
/* The first row is the header. '|' in cells is escaped. */
void fl_table_markdown(const fl_table *t, FILE *out);
/* One CSV field: quoted (RFC 4180, '"' doubled) when it holds ',', '"' or a newline. */
void fl_csv_field(FILE *out, const char *text);

#endif
