#include "reports/table.h"

#include <stdlib.h>
#include <string.h>

void fl_table_init(fl_table *t, int ncols)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols > FL_TABLE_MAX_COLS ? FL_TABLE_MAX_COLS : ncols;
}

void fl_table_free(fl_table *t)
{
    for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->colour);
    memset(t, 0, sizeof *t);
}

int fl_table_row(fl_table *t, const char *const *cells, char colour)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **c = realloc(t->cells, cap * (size_t)t->ncols * sizeof *c);
        if (!c)
            return -1;
        t->cells = c;
        char *k = realloc(t->colour, cap);
        if (!k)
            return -1;
        t->colour = k;
        t->cap = cap;
    }
    char **row = &t->cells[t->nrows * (size_t)t->ncols];
    for (int i = 0; i < t->ncols; i++) {
        row[i] = strdup(cells[i] ? cells[i] : "");
        if (!row[i]) {
            while (i--)
                free(row[i]);
            return -1;
        }
    }
    t->colour[t->nrows++] = colour;
    return 0;
}

int fl_table_note(fl_table *t, const char *text)
{
    const char *cells[FL_TABLE_MAX_COLS] = { text };
    return fl_table_row(t, cells, 'n');
}

static const char *ansi(char colour)
{
    switch (colour) {
    case 'g':
        return "\033[32m";
    case 'r':
        return "\033[1;31m";
    case 'y':
        return "\033[33m";
    default:
        return "";
    }
}

void fl_write_wrapped(FILE *out, const char *text, size_t width, size_t indent)
{
    size_t col = 0;
    const char *p = text;
    while (*p) {
        size_t blanks = strspn(p, " ");
        size_t word = strcspn(p + blanks, " ");
        if (col > 0 && col + blanks + word > width) {
            fprintf(out, "\n%*s", (int)indent, "");
            col = indent;
            p += blanks;
            blanks = 0;
        }
        fwrite(p, 1, blanks + word, out);
        col += blanks + word;
        p += blanks + word;
    }
    fputc('\n', out);
}

void fl_table_print(const fl_table *t, FILE *out, bool colour)
{
    size_t width[FL_TABLE_MAX_COLS] = {0};
    for (size_t r = 0; r < t->nrows; r++)
        for (int c = 0; c < t->ncols && t->colour[r] != 'n'; c++) {
            size_t w = strlen(t->cells[r * (size_t)t->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        if (t->colour[r] == 'n') {
            fl_write_wrapped(out, t->cells[r * (size_t)t->ncols], FL_TABLE_NOTE_COLUMNS, 4);
            continue;
        }
        bool paint = colour && t->colour[r];
        if (paint)
            fputs(ansi(t->colour[r]), out);
        for (int c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * (size_t)t->ncols + c];
            if (c == t->ncols - 1)
                fputs(cell, out); /* no trailing blanks */
            else
                fprintf(out, "%-*s  ", (int)width[c], cell);
        }
        if (paint)
            fputs("\033[0m", out);
        fputc('\n', out);
    }
}

void fl_table_markdown(const fl_table *t, FILE *out)
{
    for (size_t r = 0; r < t->nrows; r++) {
        if (t->colour[r] == 'n')
            continue;
        fputc('|', out);
        for (int c = 0; c < t->ncols; c++) {
            fputc(' ', out);
            for (const char *p = t->cells[r * (size_t)t->ncols + c]; *p; p++) {
                if (*p == '|')
                    fputc('\\', out);
                fputc(*p == '\n' ? ' ' : *p, out);
            }
            fputs(" |", out);
        }
        fputc('\n', out);
        if (r == 0) {
            fputc('|', out);
            for (int c = 0; c < t->ncols; c++)
                fputs("---|", out);
            fputc('\n', out);
        }
    }
}

void fl_csv_field(FILE *out, const char *text)
{
    if (!strpbrk(text, ",\"\n")) {
        fputs(text, out);
        return;
    }
    fputc('"', out);
    for (; *text; text++) {
        if (*text == '"')
            fputc('"', out);
        fputc(*text, out);
    }
    fputc('"', out);
}
