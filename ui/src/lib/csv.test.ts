import { afterEach, describe, expect, it, vi } from 'vitest';
import { runEvent } from '../test/fixtures';
import { csvCell, downloadText, eventsToCsv, toCsv } from './csv';

describe('csvCell', () => {
  it('leaves plain text alone', () => {
    expect(csvCell('Ada Lovelace')).toBe('Ada Lovelace');
  });

  it('quotes commas, quotes and line breaks, doubling quotes', () => {
    expect(csvCell('Lovelace, Ada')).toBe('"Lovelace, Ada"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('line one\nline two')).toBe('"line one\nline two"');
    expect(csvCell('carriage\r\nreturn')).toBe('"carriage\r\nreturn"');
  });

  it('writes null as empty and objects as JSON', () => {
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
    expect(csvCell({ a: 1, b: 'x,y' })).toBe('"{""a"":1,""b"":""x,y""}"');
    expect(csvCell(-5)).toBe('-5');
  });

  it('defuses text a spreadsheet would run as a formula', () => {
    expect(csvCell('=HYPERLINK("http://evil")')).toBe('"\'=HYPERLINK(""http://evil"")"');
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
  });
});

describe('toCsv', () => {
  it('joins rows with CRLF and ends with one', () => {
    expect(toCsv([['a', 'b'], ['c,d', 'e']])).toBe('a,b\r\n"c,d",e\r\n');
  });
});

describe('eventsToCsv', () => {
  it('writes a header and one line per event', () => {
    const csv = eventsToCsv([
      runEvent({ message: 'Updated "Ada", again', fix: 'Check the\nmapping', before: { title: 'A' }, after: { title: 'B' } }),
    ]);
    const [header, line, end] = csv.split('\r\n');
    expect(header).toBe('time,level,object_kind,object_id,object_label,action,message,fix,before,after');
    expect(line).toBe(
      '2025-11-20T10:00:05Z,info,user,u-1,Ada Lovelace,created,"Updated ""Ada"", again","Check the\nmapping","{""title"":""A""}","{""title"":""B""}"',
    );
    expect(end).toBe('');
  });
});

describe('downloadText', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('clicks a Blob link with the file name, then revokes the URL', async () => {
    vi.useFakeTimers();
    const created: Blob[] = [];
    const createObjectURL = vi.fn((blob: Blob) => {
      created.push(blob);
      return 'blob:fake';
    });
    const revokeObjectURL = vi.fn();
    Object.assign(URL, { createObjectURL, revokeObjectURL });
    const clicks: HTMLAnchorElement[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      clicks.push(this);
    });

    downloadText('run-1.csv', 'a,b\r\n');

    expect(clicks).toHaveLength(1);
    expect(clicks[0]?.download).toBe('run-1.csv');
    expect(clicks[0]?.href).toBe('blob:fake');
    expect(document.querySelector('a[download]')).toBeNull();
    expect(created[0]?.type).toBe('text/csv;charset=utf-8');
    const bytes = new Uint8Array((await created[0]?.arrayBuffer()) ?? new ArrayBuffer(0));
    // A UTF-8 byte order mark, then the text.
    expect(Array.from(bytes.slice(0, 3))).toEqual([0xef, 0xbb, 0xbf]);
    expect(new TextDecoder().decode(bytes)).toBe('a,b\r\n');
    vi.runAllTimers();
    expect(revokeObjectURL).toHaveBeenCalledWith('blob:fake');
  });
});
