/*
 * report.h - empty: the report and diff entry points are declared in
 * cli/cli.h since issue 12.  Nothing includes this header any more; it is
 * kept only until the lead deletes it.
 */
#ifndef TW_REPORT_REPORT_H
#define TW_REPORT_REPORT_H

#endif /* TW_REPORT_REPORT_H */
