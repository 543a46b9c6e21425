//! The notice as a workbook: one sheet per level, named in the notice's language, as
//! provincial offices exchange them. Each sheet opens with the title, the evaluation instant
//! and the generation time; the table starts at [`HEADER_ROW`]. Numbers as numbers (score with
//! one decimal, points with two, the on-time share as a percentage).

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::notice::{by_level, Notice};

/// The row (0-based) of each sheet's column headings; the agencies follow.
pub const HEADER_ROW: u32 = 4;

pub fn xlsx(n: &Notice<'_>) -> Result<Vec<u8>, XlsxError> {
    let lang = n.lang;
    let columns = n.columns();
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let one = Format::new().set_num_format("0.0");
    let two = Format::new().set_num_format("0.00");
    let signed_one = Format::new().set_num_format("+0.0;-0.0;0.0");
    let percent = Format::new().set_num_format("0.0%");
    for (level, ranked) in by_level(n.rows) {
        // Sheet names: at most 31 characters, none of []:*?/\.
        let name: String = lang
            .level_name(&level)
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(31)
            .collect();
        let sheet = book.add_worksheet();
        sheet.set_name(if name.is_empty() { "-" } else { &name })?;
        sheet.write_string_with_format(0, 0, n.title(), &bold)?;
        sheet.write_string(1, 0, n.evaluated())?;
        sheet.write_string(2, 0, n.generated_line())?;
        let mut head: Vec<&str> = vec![
            lang.rank,
            lang.agency_id,
            lang.agency,
            lang.score,
            lang.band,
            lang.change,
        ];
        head.extend(columns.iter().map(|g| n.group_name(g)));
        head.extend([lang.on_time, lang.overdue, lang.of_them_portal]);
        for (c, h) in head.iter().enumerate() {
            sheet.write_string_with_format(HEADER_ROW, c as u16, *h, &bold)?;
        }
        for (i, (rank, r)) in ranked.iter().enumerate() {
            let row = HEADER_ROW + 1 + i as u32;
            if let Some(k) = rank {
                sheet.write_number(row, 0, *k as f64)?;
            }
            sheet.write_string(row, 1, &r.id)?;
            sheet.write_string(row, 2, &r.name)?;
            if let Some(s) = r.score {
                sheet.write_number_with_format(row, 3, s, &one)?;
            }
            sheet.write_string(row, 4, n.band_name(r))?;
            if let Some(c) = r.change {
                sheet.write_number_with_format(row, 5, c, &signed_one)?;
            }
            let mut col = 6u16;
            for g in &columns {
                if let Some(p) = r.points(g) {
                    sheet.write_number_with_format(row, col, p, &two)?;
                }
                col += 1;
            }
            if r.in_scope > 0 {
                let share = r.on_time as f64 / r.in_scope as f64;
                sheet.write_number_with_format(row, col, share, &percent)?;
            }
            sheet.write_number(row, col + 1, r.open_overdue as f64)?;
            sheet.write_number(row, col + 2, r.open_overdue_portal as f64)?;
        }
        sheet.set_column_width(2, 40)?;
        sheet.set_freeze_panes(HEADER_ROW + 1, 0)?;
    }
    book.save_to_buffer()
}
