//! The report as a Word document: the Markdown the template wrote, read by pulldown-cmark
//! and written by docx-rs, with Word's own style names (Heading 2, List Bullet, Caption) so
//! that it pastes into the action plan under the plan's styles. Charts go in as images with
//! their alt text; tables as tables.

use docx_rs::{
    AbstractNumbering, Docx, IndentLevel, Level, LevelJc, LevelText, LineSpacing, NumberFormat, Numbering, NumberingId,
    Paragraph, Pic, Run, RunFonts, SpecialIndentType, Start, Style, StyleType, Table, TableCell, TableRow, WidthType,
};
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use std::io::{Read, Write};

/// The width of a chart on an A4 page with ordinary margins: 16 cm in EMU.
const IMAGE_WIDTH_EMU: u32 = 16 * 360_000;
/// docx-rs writes a numbering of its own with id 1 (decimal): the bullets take id 2.
const BULLETS: usize = 2;
/// The table's width: the text width of an A4 page with ordinary margins, in twentieths of a point.
const TABLE_WIDTH_DXA: usize = 9_070;

/// An image the Markdown refers to by file name (`klotter.png`), with its PNG bytes.
pub struct Image<'a> {
    pub file: String,
    pub png: &'a [u8],
}

#[derive(Default)]
struct Writer {
    docx: Option<Docx>,
    /// The paragraph being written, and its style.
    paragraph: Option<Paragraph>,
    /// Inline formatting open now.
    bold: bool,
    italic: bool,
    in_list: usize,
    /// A table being written: its rows, the row and the cell being written.
    rows: Vec<TableRow>,
    row: Vec<TableCell>,
    in_cell: bool,
    /// An image's alt text as it is read, and the images' alt texts in document order.
    image: Option<(String, String)>,
    alts: Vec<String>,
}

impl Writer {
    fn add(&mut self, p: Paragraph) {
        let d = self.docx.take().expect("a document");
        self.docx = Some(d.add_paragraph(p));
    }

    fn start(&mut self, style: &str) {
        let mut p = Paragraph::new().style(style);
        // A heading stays on the page of what follows it.
        if style.starts_with("Heading") {
            p = p.keep_next(true);
        }
        if style == "ListBullet" {
            p = p.numbering(NumberingId::new(BULLETS), IndentLevel::new(self.in_list.saturating_sub(1)));
        }
        self.paragraph = Some(p);
    }

    fn text(&mut self, t: &str) {
        let mut run = Run::new().add_text(xml_text(t));
        if self.bold {
            run = run.bold();
        }
        if self.italic {
            run = run.italic();
        }
        if self.paragraph.is_none() {
            self.start(if self.in_list > 0 { "ListBullet" } else { "Normal" });
        }
        let p = self.paragraph.take().expect("a paragraph");
        self.paragraph = Some(p.add_run(run));
    }

    fn finish_paragraph(&mut self) {
        if let Some(p) = self.paragraph.take() {
            if self.in_cell {
                let cell = self.row.pop().unwrap_or_default();
                self.row.push(cell.add_paragraph(p));
            } else {
                self.add(p);
            }
        }
    }
}

/// The document for `markdown`, with `images` put in where it refers to them.
pub fn write(title: &str, markdown: &str, images: &[Image]) -> anyhow::Result<Vec<u8>> {
    let heading = |id: &str, name: &str, size: usize| {
        Style::new(id, StyleType::Paragraph)
            .name(name)
            .based_on("Normal")
            .next("Normal")
            .size(size)
            .bold()
            .line_spacing(LineSpacing::new().before(240).after(80))
    };
    let bullets =
        AbstractNumbering::new(BULLETS).add_level(
            Level::new(0, Start::new(1), NumberFormat::new("bullet"), LevelText::new("•"), LevelJc::new("left"))
                .indent(Some(720), Some(SpecialIndentType::Hanging(360)), None, None),
        );
    let docx = Docx::new()
        .default_fonts(RunFonts::new().ascii("Arial").hi_ansi("Arial").cs("Arial"))
        .default_size(22)
        .add_style(
            Style::new("Normal", StyleType::Paragraph).name("Normal").line_spacing(LineSpacing::new().after(120)),
        )
        .add_style(heading("Heading1", "heading 1", 36))
        .add_style(heading("Heading2", "heading 2", 32))
        .add_style(heading("Heading3", "heading 3", 26))
        .add_style(
            Style::new("ListBullet", StyleType::Paragraph)
                .name("List Bullet")
                .based_on("Normal")
                .line_spacing(LineSpacing::new().after(60)),
        )
        .add_style(Style::new("Caption", StyleType::Paragraph).name("Caption").based_on("Normal").italic().size(18))
        .add_abstract_numbering(bullets)
        .add_numbering(Numbering::new(BULLETS, BULLETS));
    let mut w = Writer { docx: Some(docx), ..Writer::default() };
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => w.start(match level {
                HeadingLevel::H1 => "Heading1",
                HeadingLevel::H2 => "Heading2",
                _ => "Heading3",
            }),
            Event::Start(Tag::Paragraph) if w.paragraph.is_none() => {
                w.start(if w.in_list > 0 { "ListBullet" } else { "Normal" })
            }
            Event::End(TagEnd::Heading(_) | TagEnd::Paragraph | TagEnd::Item) => w.finish_paragraph(),
            Event::Start(Tag::List(_)) => w.in_list += 1,
            Event::End(TagEnd::List(_)) => w.in_list -= 1,
            Event::Start(Tag::Item) => {
                // A nested list's item: its parent's text so far is a paragraph of its own.
                w.finish_paragraph();
                w.start("ListBullet")
            }
            Event::Start(Tag::Strong) => w.bold = true,
            Event::End(TagEnd::Strong) => w.bold = false,
            Event::Start(Tag::Emphasis) => w.italic = true,
            Event::End(TagEnd::Emphasis) => w.italic = false,
            Event::Start(Tag::Table(_)) => w.rows.clear(),
            Event::Start(Tag::TableHead) => {
                w.row.clear();
                w.bold = true;
            }
            Event::Start(Tag::TableRow) => w.row.clear(),
            Event::End(TagEnd::TableHead | TagEnd::TableRow) => {
                w.bold = false;
                let cells = std::mem::take(&mut w.row);
                w.rows.push(TableRow::new(cells));
            }
            Event::Start(Tag::TableCell) => {
                w.row.push(TableCell::new());
                w.in_cell = true;
                w.start("Normal");
            }
            Event::End(TagEnd::TableCell) => {
                w.finish_paragraph();
                w.in_cell = false;
            }
            Event::End(TagEnd::Table) => {
                let rows = std::mem::take(&mut w.rows);
                let columns = rows.first().map_or(1, |r| r.cells.len()).max(1);
                // The first column names the rows and gets room for a word like "Demonstrationer".
                let first = if columns > 2 { TABLE_WIDTH_DXA / 4 } else { TABLE_WIDTH_DXA / columns };
                let rest = (TABLE_WIDTH_DXA - first) / (columns - 1).max(1);
                let grid = std::iter::once(first).chain(std::iter::repeat_n(rest, columns - 1)).collect();
                let table = Table::new(rows).width(TABLE_WIDTH_DXA, WidthType::Dxa).set_grid(grid);
                let d = w.docx.take().expect("a document");
                w.docx = Some(d.add_table(table));
            }
            Event::Start(Tag::Image { dest_url, .. }) => w.image = Some((dest_url.to_string(), String::new())),
            Event::End(TagEnd::Image) => {
                let (file, alt) = w.image.take().unwrap_or_default();
                // An image that is not one of the charts (a district's template may name one)
                // is left out, its alt text kept.
                let Some(image) = images.iter().find(|i| i.file == file) else {
                    w.text(&alt);
                    continue;
                };
                let (width, height) = png_size(image.png)?;
                let emu_height = (u64::from(IMAGE_WIDTH_EMU) * u64::from(height) / u64::from(width.max(1))) as u32;
                let pic = Pic::new_with_dimensions(image.png.to_vec(), width, height).size(IMAGE_WIDTH_EMU, emu_height);
                // An image stands in a paragraph of its own.
                let open = w.paragraph.take();
                if let Some(p) = open.filter(|p| p.has_numbering || !p.children.is_empty()) {
                    w.add(p);
                }
                w.add(Paragraph::new().style("Normal").add_run(Run::new().add_image(pic)));
                w.alts.push(alt);
            }
            Event::Text(t) | Event::Code(t) => match &mut w.image {
                Some((_, alt)) => alt.push_str(&t),
                None => w.text(&t),
            },
            Event::SoftBreak => w.text(" "),
            Event::HardBreak => w.text("\n"),
            _ => {}
        }
    }
    w.finish_paragraph();
    let docx = w.docx.take().expect("a document");
    let mut packed = std::io::Cursor::new(Vec::new());
    docx.build().pack(&mut packed).map_err(|e| anyhow::anyhow!("packing the Word document: {e}"))?;
    with_alt_texts(packed.get_ref(), title, &w.alts)
}

/// A PNG's width and height from its header.
fn png_size(png: &[u8]) -> anyhow::Result<(u32, u32)> {
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let reader = decoder.read_info()?;
    let info = reader.info();
    Ok((info.width, info.height))
}

/// docx-rs writes every image's `wp:docPr` with id 1 and no description: each gets an id of
/// its own and its alt text (`descr`, what Word shows as alternative text), and the document
/// its title.
fn with_alt_texts(packed: &[u8], title: &str, alts: &[String]) -> anyhow::Result<Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(packed))?;
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for i in 0..archive.len() {
        let mut file = archive.by_index(i)?;
        if file.is_dir() {
            continue;
        }
        let name = file.name().to_string();
        let mut content = Vec::new();
        file.read_to_end(&mut content)?;
        if name == "word/document.xml" {
            content = describe_images(&String::from_utf8(content)?, alts).into_bytes();
        } else if name == "docProps/core.xml" {
            let xml = String::from_utf8(content)?;
            content = match xml.find("</cp:coreProperties>") {
                Some(at) if !xml.contains("<dc:title>") => {
                    format!("{}<dc:title>{}</dc:title>{}", &xml[..at], escape(title), &xml[at..]).into_bytes()
                }
                _ => xml.into_bytes(),
            };
        }
        out.start_file(name, options)?;
        out.write_all(&content)?;
    }
    Ok(out.finish()?.into_inner())
}

fn describe_images(xml: &str, alts: &[String]) -> String {
    let mut out = String::with_capacity(xml.len() + alts.iter().map(String::len).sum::<usize>());
    let mut rest = xml;
    let mut n = 0;
    while let Some(at) = rest.find("<wp:docPr ") {
        out.push_str(&rest[..at]);
        let Some(end) = rest[at..].find("/>") else { break };
        n += 1;
        let alt = alts.get(n - 1).map(String::as_str).unwrap_or_default();
        out.push_str(&format!("<wp:docPr id=\"{n}\" name=\"Diagram {n}\" descr=\"{}\" />", escape(alt)));
        rest = &rest[at + end + 2..];
    }
    out.push_str(rest);
    out
}

/// Text without the characters XML 1.0 cannot hold (a control character pasted into a
/// source's text would make the document unreadable to Word).
fn xml_text(text: &str) -> String {
    text.chars()
        .filter(|&c| matches!(c, '\t' | '\n' | '\r') || !(c.is_control() || c == '\u{fffe}' || c == '\u{ffff}'))
        .collect()
}

fn escape(text: &str) -> String {
    xml_text(text).replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    #[test]
    fn images_get_ids_of_their_own_and_their_alt_text() {
        let xml = r#"<a><wp:docPr id="1" name="Figure" /><b/><wp:docPr id="1" name="Figure" /></a>"#;
        let out = super::describe_images(xml, &["Klotter: störst är \"Ja\" & <Nej>".into(), "Två".into()]);
        assert_eq!(
            out,
            r#"<a><wp:docPr id="1" name="Diagram 1" descr="Klotter: störst är &quot;Ja&quot; &amp; &lt;Nej&gt;" /><b/><wp:docPr id="2" name="Diagram 2" descr="Två" /></a>"#
        );
    }
}
