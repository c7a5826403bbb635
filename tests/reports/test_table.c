/* reports/table: the aligned text tables compare and the summaries print
 * (their widths are what "reads at 80 columns" measures), their Markdown, and
 * the CSV field quoting compare's --format csv uses. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "reports/table.h"

static char *text_of(const fl_table *t, bool markdown)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (markdown)
        fl_table_markdown(t, out);
    else
        fl_table_print(t, out, false);
    fclose(out);
    return buf;
}

/* Each column as wide as its widest cell plus two blanks; the last column
 * unpadded, so a line is as wide as its content (an empty last cell leaves
 * the padding before it); a note widens no column. */
Test(table, columns_align_and_the_last_is_unpadded)
{
    fl_table t;
    fl_table_init(&t, 3);
    const char *head[] = { "cell", "p99", "unexplained" }, *a[] = { "keepalive=1 grace=1.5", "0.6 *", "0 of 20" },
               *b[] = { "k=2", "12.0", NULL };
    cr_assert_eq(fl_table_row(&t, head, 0), 0);
    cr_assert_eq(fl_table_row(&t, a, 0), 0);
    cr_assert_eq(fl_table_note(&t, "a note much longer than any cell of the table, printed as it is"), 0);
    cr_assert_eq(fl_table_row(&t, b, 0), 0);
    char *out = text_of(&t, false);
    cr_expect_str_eq(out, "cell                   p99    unexplained\n"
                          "keepalive=1 grace=1.5  0.6 *  0 of 20\n"
                          "a note much longer than any cell of the table, printed as it is\n"
                          "k=2                    12.0   \n");
    free(out);
    out = text_of(&t, true);
    cr_expect_str_eq(out, "| cell | p99 | unexplained |\n"
                          "|---|---|---|\n"
                          "| keepalive=1 grace=1.5 | 0.6 * | 0 of 20 |\n"
                          "| k=2 | 12.0 |  |\n");
    free(out);
    fl_table_free(&t);
}

Test(table, markdown_escapes_pipes)
{
    fl_table t;
    fl_table_init(&t, 1);
    const char *head[] = { "cell" }, *row[] = { "a|b" };
    fl_table_row(&t, head, 0);
    fl_table_row(&t, row, 0);
    char *out = text_of(&t, true);
    cr_expect_str_eq(out, "| cell |\n|---|\n| a\\|b |\n");
    free(out);
    fl_table_free(&t);
}

Test(table, csv_fields_quoted_when_they_must_be)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    const char *fields[] = { "devices[0]", "keepalive=1 grace=1.5", "a,b", "say \"hi\"", "two\nlines", "" };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        fl_csv_field(out, fields[i]);
        fputc(';', out);
    }
    fclose(out);
    cr_expect_str_eq(buf, "devices[0];keepalive=1 grace=1.5;\"a,b\";\"say \"\"hi\"\"\";\"two\nlines\";;");
    free(buf);
}
