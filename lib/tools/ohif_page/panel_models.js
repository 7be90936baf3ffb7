// The models the MONAI Label panel offers in its Auto-Segmentation tab.
() => Array.from(document.querySelectorAll('.monaiLabelPanel select.selectBox option')).map(o => o.value)
