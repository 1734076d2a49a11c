/**
 * Drops a reasoning block at the start of the reply: `<think> ... </think>` as written into the text
 * by reasoning models (DeepSeek-R1, Qwen3, QwQ) on servers that do not split it off (llama.cpp
 * without --reasoning-format, older Ollama). Only a block that opens the reply counts; a `<think>`
 * later in the text is left alone. Streaming: tags split across deltas are recognised; text after
 * the block flows through at once.
 */
const OPEN = '<think>';
const CLOSE = '</think>';

export class ThinkFilter {
  private state: 'start' | 'thinking' | 'spoken' = 'start';
  private held = '';
  /** Just after a block: white space before the first word is dropped. */
  private trimLead = false;

  /** True while inside the reasoning block. */
  get thinking(): boolean {
    return this.state === 'thinking';
  }

  push(delta: string): string {
    if (this.state === 'spoken') return this.trimLead ? this.lead(delta) : delta;
    this.held += delta;
    if (this.state === 'start') {
      const lead = this.held.trimStart();
      if (lead.length < OPEN.length && OPEN.startsWith(lead)) return ''; // maybe "<thi"
      if (!lead.startsWith(OPEN)) return this.release(this.held);
      this.state = 'thinking';
      this.held = lead.slice(OPEN.length);
    }
    const end = this.held.indexOf(CLOSE);
    if (end < 0) {
      // Keep only what could be the start of a split closing tag.
      this.held = this.held.slice(-(CLOSE.length - 1));
      return '';
    }
    const rest = this.held.slice(end + CLOSE.length);
    this.trimLead = true;
    return this.release(this.lead(rest));
  }

  private lead(text: string): string {
    const t = text.trimStart();
    if (t) this.trimLead = false;
    return t;
  }

  /** The end of the reply: text held while deciding comes out; an unfinished block is dropped. */
  flush(): string {
    const out = this.state === 'start' ? this.held : '';
    this.held = '';
    this.state = 'spoken';
    return out;
  }

  private release(text: string): string {
    this.state = 'spoken';
    this.held = '';
    return text;
  }
}
