"""The overview strip of a padded batch (issue 13): the shown sentence's padding columns stay
uncoloured, as the graph draws those steps absent; its real steps are coloured."""

from __future__ import annotations

from browser_helpers import open_page, wait_done

CELLS = """async () => {
  // the strip is one bitmap (one pixel per step and h row): read its pixels back
  const image = document.querySelector('#overview image.overview-cells');
  const picture = new Image();
  picture.src = image.getAttribute('href');
  await picture.decode();
  const canvas = document.createElement('canvas');
  canvas.width = picture.width; canvas.height = picture.height;
  const context = canvas.getContext('2d');
  context.drawImage(picture, 0, 0);
  const pixels = context.getImageData(0, 0, picture.width, picture.height).data;
  const pending = getComputedStyle(document.querySelector('#overview')).getPropertyValue('--node-pending').trim();
  const cells = [];
  for (let y = 0; y < picture.height; y += 1) for (let x = 0; x < picture.width; x += 1) {
    const i = (y * picture.width + x) * 4;
    cells.push([x, [pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]]]);
  }
  return { cells, pending };
}"""


def test_padded_columns_of_the_overview_are_not_coloured(page, live_server, screenshots_dir):
    open_page(page, live_server, preset="word-embeddings", batch_index=1)    # 9 words, then 3 pads (T = 12)
    wait_done(page)
    strip = page.evaluate(CELLS)
    cells = strip["cells"]
    rows = 2                                                                 # h_l0_reverse, h_l0
    assert len(cells) == rows * 12
    transparent = sorted(t for t, rgba in cells if rgba[3] == 0)
    assert transparent == sorted([9, 10, 11] * rows), transparent          # the padding steps stay uncoloured
    real = [rgba for t, rgba in cells if t < 9]
    assert len(real) == rows * 9 and all(rgba[3] == 255 for rgba in real), real
    assert len({tuple(rgba) for rgba in real}) > 1, real                     # coloured by their norms, not all pending
    page.locator("#overview").screenshot(path=str(screenshots_dir / "overview-padded.png"))
